// Package all registers every target type, in the kernel's registration order
// (`dmsetup targets` lists them newest first). A new target is one line here.
package all

import (
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/cache"
	"github.com/gdmsetup/gdmsetup/targets/clone"
	"github.com/gdmsetup/gdmsetup/targets/crypt"
	"github.com/gdmsetup/gdmsetup/targets/delay"
	"github.com/gdmsetup/gdmsetup/targets/dust"
	"github.com/gdmsetup/gdmsetup/targets/ebs"
	"github.com/gdmsetup/gdmsetup/targets/era"
	"github.com/gdmsetup/gdmsetup/targets/errortarget"
	"github.com/gdmsetup/gdmsetup/targets/flakey"
	"github.com/gdmsetup/gdmsetup/targets/integrity"
	"github.com/gdmsetup/gdmsetup/targets/linear"
	"github.com/gdmsetup/gdmsetup/targets/logwrites"
	"github.com/gdmsetup/gdmsetup/targets/mirror"
	"github.com/gdmsetup/gdmsetup/targets/multipath"
	"github.com/gdmsetup/gdmsetup/targets/raid"
	"github.com/gdmsetup/gdmsetup/targets/snapshot"
	"github.com/gdmsetup/gdmsetup/targets/striped"
	"github.com/gdmsetup/gdmsetup/targets/switchtarget"
	"github.com/gdmsetup/gdmsetup/targets/thin"
	"github.com/gdmsetup/gdmsetup/targets/thinpool"
	"github.com/gdmsetup/gdmsetup/targets/unstriped"
	"github.com/gdmsetup/gdmsetup/targets/verity"
	"github.com/gdmsetup/gdmsetup/targets/writecache"
	"github.com/gdmsetup/gdmsetup/targets/zero"
)

func init() {
	targets.Register(errortarget.Type)
	targets.Register(linear.Type)
	targets.Register(striped.Type)
	targets.Register(zero.Type)
	targets.Register(thin.Type)
	targets.Register(thinpool.Type)
	targets.Register(snapshot.Type)
	targets.Register(snapshot.OriginType)
	targets.Register(snapshot.MergeType)
	targets.Register(flakey.Type)
	targets.Register(delay.Type)
	targets.Register(era.Type)
	targets.Register(cache.Type)
	targets.Register(unstriped.Type)
	targets.Register(mirror.Type)
	targets.Register(raid.Type)
	targets.Register(switchtarget.Type)
	targets.Register(logwrites.Type)
	targets.Register(crypt.Type)
	targets.Register(verity.Type)
	targets.Register(multipath.Type)
	targets.Register(writecache.Type)
	targets.Register(integrity.Type)
	targets.Register(clone.Type)
	targets.Register(ebs.Type)
	targets.Register(dust.Type)
}
