#!/bin/sh
# BART timings for one 256×256 8-coil slice at the iteration counts of benches/pics.rs.
# Usage: sh kspace/benches/bart_pics.sh   (needs `bart`; prints wall seconds, best of 3)
set -eu
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d"
bart phantom -x 256 -s 8 -k ksp
bart poisson -Y 256 -Z 256 -y 2 -z 2 -C 24 -v -e -s 1 pat0 >/dev/null
bart reshape 7 256 256 1 pat0 pat
bart fmac ksp pat ksp_u
best() { # best wall time of 3 runs of "$@"
    b=999999
    for _ in 1 2 3; do
        t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
        b=$(echo "$t1 - $t0" | bc | awk -v b="$b" '{print ($1 < b) ? $1 : b}')
    done
    echo "$b"
}
echo "threads: ${OMP_NUM_THREADS:-$(nproc)}"
echo "ecalib -m1:                        $(best bart ecalib -m1 ksp_u maps) s"
bart ecalib -m1 ksp_u maps >/dev/null 2>&1
echo "pics -S -l2 -r 0.01 -i 30:         $(best bart pics -S -l2 -r 0.01 -i 30 ksp_u maps x) s"
echo "pics -S -l1 -r 0.01 -i 50:         $(best bart pics -S -l1 -r 0.01 -i 50 ksp_u maps x) s"
echo "pics -S -R T:3:0:0.01 -i 30:       $(best bart pics -S -R T:3:0:0.01 -i 30 ksp_u maps x) s"
