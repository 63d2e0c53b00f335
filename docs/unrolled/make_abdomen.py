#!/usr/bin/env python3
"""The non-brain test scan of the README's unrolled-network table: the abdominal MR image
`examples_overlay.dcm` (MR, ABDOMEN, "abdomen^liver", Siemens 1.5 T, 300×484, 0.72 mm) from
PyPI pydicom 3.0.2's test data (MIT licence), written as a one-slice NIfTI and simulated as
an 8-coil scan. No model trained on it.

    pip install pydicom==3.0.2 nibabel
    python3 docs/unrolled/make_abdomen.py /tmp/abdomen.nii.gz
    target/release/recon simulate --input /tmp/abdomen.nii.gz --coils 8 --output /tmp/abd8.h5
"""
import sys
import nibabel as nib
import numpy as np
import pydicom
from pydicom.data import get_testdata_file

d = pydicom.dcmread(get_testdata_file("examples_overlay.dcm"))
a = d.pixel_array.astype(np.float32)
nib.save(nib.Nifti1Image(a.T[:, ::-1, None], np.eye(4)), sys.argv[1])
print(sys.argv[1], a.shape, d.get("BodyPartExamined"), d.get("Manufacturer"))
