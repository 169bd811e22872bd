"""Unpacks an OCI image archive the way a container runtime does (used by
image_test.sh): checks every blob against its sha256 digest, applies the
layers in order into ROOTFS keeping numeric owners and modes, and prints the
image's run configuration (User, Entrypoint, Cmd, ...) as JSON.

    python3 unpack_oci.py ARCHIVE.tar ROOTFS
"""
import hashlib
import json
import os
import sys
import tarfile


def main(archive, rootfs):
    with tarfile.open(archive) as outer:
        def blob(digest):
            algorithm, value = digest.split(":", 1)
            data = outer.extractfile(f"blobs/{algorithm}/{value}").read()
            if hashlib.new(algorithm, data).hexdigest() != value:
                sys.exit(f"unpack_oci: blob {digest} does not match its digest")
            return data

        index = json.load(outer.extractfile("index.json"))
        if len(index["manifests"]) != 1:
            sys.exit(f"unpack_oci: {len(index['manifests'])} manifests, expected one")
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        os.makedirs(rootfs, exist_ok=True)
        unpacked = 0
        for layer in manifest["layers"]:
            path = os.path.join(rootfs, ".layer.tar")
            with open(path, "wb") as f:
                f.write(blob(layer["digest"]))
            with tarfile.open(path) as t:  # gzip or plain, by content
                for member in t.getmembers():
                    name = os.path.normpath(member.name)
                    if name.startswith("..") or os.path.isabs(name):
                        sys.exit(f"unpack_oci: layer entry outside the root: {member.name}")
                    unpacked += member.size
                t.extractall(rootfs, numeric_owner=True)
            os.remove(path)
    config["config"]["unpacked_bytes"] = unpacked
    print(json.dumps(config["config"]))


if __name__ == "__main__":
    main(*sys.argv[1:3])
