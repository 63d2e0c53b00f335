#!/bin/sh
# BART timings for one 256×256 8-coil slice at the iteration counts of benches/pics.rs and
# examples/pics_timing.rs. Usage: sh kspace/benches/bart_pics.sh  (needs `bart` and GNU time).
# Prints wall and CPU (user + system) seconds of the fastest of 3 runs; CPU seconds are the
# fairer number on a machine shared with other work.
set -eu
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d"
bart phantom -x 256 -s 8 -k ksp
bart poisson -Y 256 -Z 256 -y 2 -z 2 -C 24 -v -e -s 1 pat0 >/dev/null
bart reshape 7 256 256 1 pat0 pat
bart fmac ksp pat ksp_u
best() { # "wall cpu" of the fastest of 3 runs of "$@"
    for _ in 1 2 3; do
        /usr/bin/time -f "%e %U %S" -o t.txt "$@" >/dev/null 2>&1
        awk '{printf "%.3f %.3f\n", $1, $2 + $3}' t.txt
    done | sort -n | head -1
}
echo "threads: ${OMP_NUM_THREADS:-$(nproc)}   (wall s, cpu s)"
echo "ecalib -m1:                   $(best bart ecalib -m1 ksp_u maps)"
bart ecalib -m1 ksp_u maps >/dev/null 2>&1
echo "pics -S -l2 -r 0.01 -i 30:    $(best bart pics -S -l2 -r 0.01 -i 30 ksp_u maps x)"
echo "pics -S -l1 -r 0.01 -i 50:    $(best bart pics -S -l1 -r 0.01 -i 50 ksp_u maps x)"
echo "pics -S -R T:3:0:0.01 -i 30:  $(best bart pics -S -R T:3:0:0.01 -i 30 ksp_u maps x)"
