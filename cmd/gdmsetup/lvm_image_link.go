package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gdmsetup/gdmsetup/lvm"
)

// lvmLinkImages points the PVs of vgs whose image path a table cannot hold (a blank or a
// backslash: libdm doubles backslashes, so a table argument has no way to hold a blank) at a
// symlink to the image in the state directory's images/, named by a hash of the path, made
// once and kept (a later activation of the same image reuses it).
func lvmLinkImages(e *env, vgs []*lvm.VG) error {
	for _, vg := range vgs {
		for _, pv := range vg.PVs {
			if pv.Source == nil || !strings.ContainsAny(pv.Source.Path, " \t\n\\") {
				continue
			}
			link, err := lvmImageLink(e, pv.Source.Path)
			if err != nil {
				return fmt.Errorf("image %q: %w", pv.Source.Path, err)
			}
			pv.Source.Path = link
		}
	}
	return nil
}

// lvmImageLink returns the symlink to image (an absolute path) in the state directory's
// images/, making it if it is not there.
func lvmImageLink(e *env, image string) (string, error) {
	dir, err := filepath.Abs(filepath.Join(stateDir(e.opts), "images"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	link := filepath.Join(dir, fmt.Sprintf("%x", sha256.Sum256([]byte(image)))[:16]+".img")
	if strings.ContainsAny(link, " \t\n\\") {
		return "", fmt.Errorf("the state directory %s has a blank or a backslash in its path too: choose another with --dir", dir)
	}
	if target, err := os.Readlink(link); err == nil && target == image {
		return link, nil
	}
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(image, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return link, nil
}
