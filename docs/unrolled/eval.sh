#!/bin/bash
# usage: eval.sh RECON OUTDIR ; runs recon --method all (default models) and --adapt 5 per scan/mask
# SCANS: the folder holding mni8.h5 (recon simulate, see README) and abd8.h5 (docs/unrolled/make_abdomen.py)
R=$1; O=$2; mkdir -p $O
for scan in mni8 abd8; do
  for mm in random:4 equispaced:4 random:8 poisson:4 poisson:8 n2n:4; do
    m=${mm%%:*}; a=${mm##*:}
    $R --input ${SCANS:-/tmp}/$scan.h5 --mask $m --acceleration $a --seed 0 --method all --json -o $O/${scan}_${m}_${a}.h5 --force > $O/${scan}_${m}_${a}.json 2>$O/err.txt
    $R --input ${SCANS:-/tmp}/$scan.h5 --mask $m --acceleration $a --seed 0 --method network --adapt 5 --json -o $O/${scan}_${m}_${a}_adapt.h5 --force > $O/${scan}_${m}_${a}_adapt.json 2>>$O/err.txt
    python3 - $O/${scan}_${m}_${a}.json $O/${scan}_${m}_${a}_adapt.json <<'PY'
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
d={m['method']:m['psnr'] for m in a['metrics']}
t={m['method']:m['seconds'] for m in a['methods']}
ad=[m['psnr'] for m in b['metrics'] if m['method']=='network'][0]
ta=[m['seconds'] for m in b['methods'] if m['method']=='network'][0]
print(sys.argv[1].split('/')[-1][:-5], ' '.join(f"{k}={v:.2f}" for k,v in d.items()), f"adapt={ad:.2f}", f"t_net={t.get('network',0):.1f} t_adapt={ta:.1f} t_cs={t.get('cs',0):.1f}", flush=True)
PY
  done
done
