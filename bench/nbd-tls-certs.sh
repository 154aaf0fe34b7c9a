#!/bin/bash
# Makes a TLS certificates directory for NBD with openssl, as docs/nbd-tls.md explains: a CA, a
# server certificate for the names given, a client certificate, in the file names nbdkit,
# `gdmsetup serve --tls-certificates`, qemu's tls-creds-x509 and libnbd read.
#   usage: bench/nbd-tls-certs.sh DIR [SERVER_NAME...]   (default names: localhost 127.0.0.1 ::1)
# DIR/ca-key.pem     the CA's private key (keep it off the servers)
# DIR/server/        ca-cert.pem server-cert.pem server-key.pem   (serve --tls-certificates DIR/server)
# DIR/client/        ca-cert.pem client-cert.pem client-key.pem   (nbds://...?tls-certificates=DIR/client)
set -eu
[ $# -ge 1 ] || { echo "usage: $0 DIR [SERVER_NAME...]" >&2; exit 2; }
DIR=$1; shift
NAMES=${*:-localhost 127.0.0.1 ::1}
mkdir -p "$DIR/server" "$DIR/client"
cd "$DIR"
umask 077
SAN=
for n in $NAMES; do
  case $n in *:*) SAN+="IP:$n," ;; *[!0-9.]*) SAN+="DNS:$n," ;; *) SAN+="IP:$n," ;; esac
done
SAN=${SAN%,}
EC=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${EC[@]}" -keyout ca-key.pem -out ca-cert.pem -days 3650 -subj "/O=NBD/CN=NBD CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
issue() { # name usage subject
  openssl req "${EC[@]}" -keyout "$1/$1-key.pem" -out "$1.csr" -subj "$3" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=$2" ${4:+"subjectAltName=$4"} > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 365 \
    -extfile "$1.ext" -out "$1/$1-cert.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
issue server serverAuth "/O=NBD/CN=${NAMES%% *}" "$SAN"
issue client clientAuth "/O=NBD/CN=nbd client"
cp ca-cert.pem server/; cp ca-cert.pem client/
chmod 0644 ca-cert.pem server/ca-cert.pem client/ca-cert.pem server/server-cert.pem client/client-cert.pem
chmod 0700 server client
