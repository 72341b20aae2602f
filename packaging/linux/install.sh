#!/usr/bin/env bash
# Install a built bundle (dist/hear2see) for one user or system-wide, with its menu entry and icon.
#   bash packaging/linux/install.sh                 into ~/.local (no root needed)
#   sudo PREFIX=/usr/local bash packaging/linux/install.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
prefix=${PREFIX:-$HOME/.local}
app_id=io.github.hear2see.Hear2See
[ -x dist/hear2see/hear2see ] || { echo "No bundle in dist/hear2see: run python packaging/build.py first." >&2; exit 2; }
mkdir -p "$prefix/lib" "$prefix/bin" "$prefix/share/applications" "$prefix/share/metainfo" \
  "$prefix/share/icons/hicolor/512x512/apps"
rm -rf "$prefix/lib/hear2see"
cp -a dist/hear2see "$prefix/lib/hear2see"
ln -sf "$prefix/lib/hear2see/hear2see" "$prefix/bin/hear2see"
sed "s|^Exec=hear2see|Exec=$prefix/bin/hear2see|; s|^TryExec=hear2see|TryExec=$prefix/bin/hear2see|" \
  "packaging/linux/$app_id.desktop" > "$prefix/share/applications/$app_id.desktop"
cp "packaging/linux/$app_id.metainfo.xml" "$prefix/share/metainfo/"
cp resources/icons/hear2see.png "$prefix/share/icons/hicolor/512x512/apps/$app_id.png"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/share/applications" || true
echo "Installed: $prefix/bin/hear2see (menu entry HEAR2SEE)"
