#!/usr/bin/env bash
# Makes a local stand-in for the official Node image, for machines that cannot pull one: a scratch image holding
# the Node binary of the npm package node@<major>, the shared libraries it links, npm, and a static busybox for
# /bin/sh. Pass its name to the Dockerfile's NODE_IMAGE build argument.
#   usage: scripts/image/make-local-base.sh <node major> <image name>
set -euo pipefail
major=${1:?node major version}
image=${2:?image name}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --prefix "$work/node" --no-save --no-audit --no-fund --silent "node@$major" >/dev/null
node_bin=$(readlink -f "$work/node/node_modules/node/bin/node")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
busybox=$(command -v busybox)
file "$busybox" | grep -q 'statically linked' || { echo "make-local-base: $busybox is not static (install busybox-static)" >&2; exit 1; }

ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
root=$(buildah mount "$ctr")
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,usr/local/lib,etc,tmp,home/node}
chmod 1777 "$root/tmp"
# The official image's binary carries no debug info either.
strip -o "$root/usr/local/bin/node" "$node_bin"
for lib in $(ldd "$node_bin" | grep -oE '/[^ ]+\.so[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
mkdir -p "$root/usr/local/lib/node_modules"
cp -r "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -sf /bin/env "$root/usr/bin/env"
# The official images' user: uid and gid 1000, named node.
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$root/etc/group"
chown 1000:1000 "$root/home/node"
[ -d /etc/ssl/certs ] && mkdir -p "$root/etc/ssl" && cp -rL /etc/ssl/certs "$root/etc/ssl/certs"
buildah umount "$ctr" >/dev/null
buildah config --env PATH=/usr/local/bin:/usr/bin:/bin --cmd node "$ctr"
# A machine whose Node trusts extra CAs (a TLS-inspecting egress proxy in front of the npm registry, say) needs the
# same inside the build, or the image's `npm ci` cannot reach the registry.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  buildah copy --quiet "$ctr" "$NODE_EXTRA_CA_CERTS" /etc/ssl/extra-ca-certificates.crt >/dev/null
  buildah config --env NODE_EXTRA_CA_CERTS=/etc/ssl/extra-ca-certificates.crt "$ctr"
fi
buildah commit --quiet "$ctr" "$image" >/dev/null
echo "$image: node $("$node_bin" --version), npm $(npm --version)"
