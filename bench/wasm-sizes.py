#!/usr/bin/env python3
"""Where the page's wasm goes: code bytes per crate, from the function names that
wasm-bindgen keeps when wasm-opt is off.

    sed -i 's/data-wasm-opt="z"/data-wasm-opt="0"/' www/index.html && trunk build --release
    python3 bench/wasm-sizes.py dist/convlab-web-cpu_bg.wasm
    git checkout www/index.html
"""
import sys, re, collections
data = open(sys.argv[1], 'rb').read()
pos = 8
def leb(p):
    r = s = 0
    while True:
        b = data[p]; p += 1
        r |= (b & 0x7f) << s; s += 7
        if b < 0x80: return r, p
imports_funcs = 0; bodies = []; names = {}; sections = collections.Counter()
while pos < len(data):
    sid = data[pos]; size, p = leb(pos + 1); end = p + size
    if sid == 2:
        n, q = leb(p)
        for _ in range(n):
            l, q = leb(q); q += l; l, q = leb(q); q += l
            kind = data[q]; q += 1
            if kind == 0: _, q = leb(q); imports_funcs += 1
            elif kind == 1: q += 1; fl, q = leb(q); _, q = leb(q); q = (leb(q)[1] if fl & 1 else q)
            elif kind == 2: fl, q = leb(q); _, q = leb(q); q = (leb(q)[1] if fl & 1 else q)
            elif kind == 3: q += 2
    if sid == 10:
        n, q = leb(p)
        for _ in range(n):
            l, q2 = leb(q); bodies.append(l + (q2 - q)); q = q2 + l
    if sid == 0:
        l, q = leb(p); nm = data[q:q+l].decode(); q += l
        sections['custom:' + nm] += size
        if nm == 'name':
            while q < end:
                sub = data[q]; ssz, q2 = leb(q + 1)
                if sub == 1:
                    n, r = leb(q2)
                    for _ in range(n):
                        idx, r = leb(r); l, r = leb(r); names[idx] = data[r:r+l].decode('utf8', 'replace'); r += l
                q = q2 + ssz
    else:
        sections[sid] += size
    pos = end
print("sections (id: bytes)", dict(sections))
by = collections.Counter()
for i, sz in enumerate(bodies):
    name = names.get(i + imports_funcs, '?')
    m = re.match(r'[<&]*(?:dyn )?([a-zA-Z_][a-zA-Z0-9_]*)', name)
    by[m.group(1) if m else name[:20]] += sz
total = sum(bodies)
print('code total', total)
gpu = sum(v for k, v in by.items() if re.match(r"(cubecl|cubek|burn_cubecl|burn_fusion|burn_ir|pliron|rustc_apfloat|combine|burn_wgpu|wgpu|naga)", k))
print("webgpu stack", gpu, round(100*gpu/total,1))
cpu = sum(v for k, v in by.items() if k.startswith("burn_flex") or k.startswith("gemm") or k.startswith("pulp"))
print("cpu backend", cpu, round(100*cpu/total,1))
for k, v in by.most_common(30): print(f'{v/1e6:7.2f} MB {100*v/total:5.1f}%  {k}')
