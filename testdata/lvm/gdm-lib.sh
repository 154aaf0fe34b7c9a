# gdm-lib.sh: what the NAME-gdm.sh scripts share (sourced; they check that lvm2 in the kernel
# oracle reads what gdmsetup wrote).
# gdm_setup IMAGE...: builds gdmsetup into a temporary directory $d (removed at exit), defines
# g to run it with a state directory of its own, and unpacks testdata/lvm/IMAGE.img.gz into
# $d/img.
# gdm_kernel_reads NAME WHAT [DROP]: runs NAME-oracle.sh on $d/img through capture.sh (FROM=),
# appends "== gdmsetup's WHAT (before the kernel)" and $d/ours to its transcript ($out) and
# fails unless the transcript's "== sha256" block (less the lines matching DROP) is $d/ours.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

gdm_setup() {
	d="$(mktemp -d)"
	trap 'rm -rf "$d"' EXIT
	(cd "$here/../.." && go build -o "$d/gdmsetup" ./cmd/gdmsetup)
	mkdir "$d/img"
	local n
	for n in "$@"; do gunzip -c "$here/$n.img.gz" >"$d/img/$n.img"; done
}

g() { "$d/gdmsetup" --dir "$d/state" "$@"; }

gdm_kernel_reads() {
	local name=$1 what=$2 drop=${3:-} kernel
	FROM="$d/img" "$here/capture.sh" "$name"
	out="$here/$name-oracle.out"
	kernel="$(awk '/^== sha256/{p=1; next} /^==/{p=0} p' "$out")"
	if [ -n "$drop" ]; then kernel="$(grep -v -- "$drop" <<<"$kernel" || true)"; fi
	{ echo "== gdmsetup's $what (before the kernel)"; cat "$d/ours"; } >>"$out"
	if [ "$kernel" != "$(cat "$d/ours")" ]; then
		echo "$name.sh: the kernel read other than gdmsetup:" >&2
		diff <(echo "$kernel") "$d/ours" >&2
		exit 1
	fi
}
