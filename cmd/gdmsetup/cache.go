package main

const cacheUsage = `usage:
  gdmsetup cache check [-q] [--super-block-only] [--skip-mappings] [--skip-hints]
                       [--skip-discards] [--clear-needs-check-flag] META
                                                  cache_check: walk every structure; exit 1 on damage
  gdmsetup cache dump [-o OUT] [--repair] META   cache_dump's XML: mappings and hints
  gdmsetup cache restore -i IN.xml -o META [--metadata-version 1|2] [--omit-clean-shutdown]
                                                  cache_restore: write the metadata IN.xml describes
  gdmsetup cache repair -i META -o NEWMETA        cache_repair: what can be read, into new metadata
  gdmsetup cache metadata_size (--nr-blocks N | --device-size SECTORS --block-size SECTORS)
                       [--max-hint-width BYTES]  cache_metadata_size: the metadata's size in sectors
  gdmsetup cache writeback --metadata-device META --origin-device ORIGIN --fast-device FAST
                       [--buffer-size-meg MB] [--no-metadata-update] [--list-failed-blocks]
                                                  cache_writeback: copy dirty blocks back to the origin, offline
Each command reads its tool's options (thin-provisioning-tools 0.9.0) as getopt_long
does (-oFILE, --opt=VALUE, --abbrev, options after META, --); -h prints its help,
-V its version. OUT "-" is stdout. Exit codes: 0 success; 1 failure, damage found or
a refused command line.
`

// cacheSuite is `gdmsetup cache`: thin-provisioning-tools' cache_* programs.
var cacheSuite = &toolSuite{word: "cache", usage: cacheUsage, commands: []toolCommand{
	{"check", noStdin(cacheCheck)}, {"dump", noStdin(cacheDump)}, {"restore", noStdin(cacheRestore)},
	{"repair", noStdin(cacheRepair)}, {"metadata_size", noStdin(cacheMetadataSize)},
	{"writeback", noStdin(cacheWriteback)},
}}

// newCacheToolFlags is the command line of `gdmsetup cache cmd`.
func newCacheToolFlags(cmd, short string, long []longOption, usage string) *toolFlags {
	return newSuiteToolFlags("cache", cmd, short, long, usage)
}
