#!/usr/bin/env python3
"""Writes the weights of a finished `recon train` checkpoint alone, in f16 (what `--export`
does when given before the run completes): drops the Adam state (`optim.*` tensors), keeps
the metadata, sorts the header keys. Usage: export_f16.py CHECKPOINT OUT."""
import json, struct, sys
import numpy as np

src, dst = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
meta = header.pop("__metadata__", {})
tensors, blobs, offset = {}, [], 0
for name in sorted(header):
    if name.startswith("optim."):
        continue
    info = header[name]
    if info["dtype"] != "F32":
        sys.exit(f"{name}: {info['dtype']}, expected F32")
    a, b = info["data_offsets"]
    arr = np.frombuffer(data[a:b], dtype="<f4").astype("<f2")
    blob = arr.tobytes()
    tensors[name] = {"dtype": "F16", "shape": info["shape"], "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
out = {"__metadata__": meta, **tensors}
text = json.dumps(out, sort_keys=True, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
print(f"{dst}: {len(tensors)} tensors, {8 + len(text) + offset} bytes")
