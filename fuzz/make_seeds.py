#!/usr/bin/env python3
"""Writes the seed corpus of the reader targets (fuzz/corpus/read_*), a few hundred bytes each:
valid files of every supported kind and a few invalid ones that stop at each check. The model
seeds (corpus/model_json, corpus/model_npz) were written by `nmf fit` itself:

    printf '1,2,3\n4,5,6\n' > v.csv; printf '1,0,3,2\n4,5,0,1\n2,2,2,2\n' > w.csv
    nmf fit v.csv -k 1 --out a -q --model-format both                       # ok-f64.*
    nmf fit w.csv -k 2 --dtype f32 --alpha-w 0.01 --l1-ratio 0.5 --out b -q \
        --model-format both --max-iter 30                                   # ok-f32-penalty.*
    nmf fit w.csv -k 2 --beta 0.5 --out c -q --model-format npz --max-iter 20  # ok-beta.npz

then edited with Python's json and zipfile: bad-*.json (rows × rank wrapping to 0, rank 0 with
rows 2⁶⁴ − 1, a negative entry, W one value short, cut after 80 bytes), ok-*-deflated.npz (the
same members compressed with deflate, as numpy.savez_compressed writes them), bad-shape.npz
(model.json's rows one more than W.npy's) and bad-missing-w.npz.

Run from anywhere: python3 fuzz/make_seeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(descr, shape, payload, fortran=False, version=(1, 0), shape_text=None, raw_descr=None):
    shape_text = shape_text or ("(" + "".join(f"{s}, " for s in shape).rstrip(" ") + ")"
                                if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")")
    d = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
        raw_descr or repr(descr), "True" if fortran else "False", shape_text)
    pre = 10 if version == (1, 0) else 12
    while (pre + len(d) + 1) % 64:
        d += " "
    d += "\n"
    head = b"\x93NUMPY" + bytes(version)
    head += struct.pack("<H" if pre == 10 else "<I", len(d))
    return head + d.encode("latin1") + payload


vals = [0, 1, 2, 3, 4, 5]  # a 2×3 matrix, row-major
for descr, fmt in [("<f4", "<6f"), ("<f8", "<6d"), (">f8", ">6d"), ("|i1", "<6b"),
                   ("<i2", "<6h"), ("<i4", "<6i"), ("<i8", "<6q"), ("|u1", "<6B"),
                   ("<u2", "<6H"), (">u4", ">6I"), ("<u8", "<6Q")]:
    put("read_npy", f"ok-{descr[1:]}{'-be' if descr[0] == '>' else ''}.npy",
        npy(descr, (2, 3), struct.pack(fmt, *vals)))
put("read_npy", "ok-bool.npy", npy("|b1", (2, 3), bytes([0, 1, 1, 0, 1, 0])))
# Fortran order: the same matrix column by column.
put("read_npy", "ok-fortran.npy",
    npy("<f8", (2, 3), struct.pack("<6d", 0, 3, 1, 4, 2, 5), fortran=True))
put("read_npy", "ok-v2.npy", npy("<f8", (2, 3), struct.pack("<6d", *vals), version=(2, 0)))
put("read_npy", "ok-v3.npy", npy("<f4", (2, 3), struct.pack("<6f", *vals), version=(3, 0)))
put("read_npy", "ok-py2-long.npy",
    npy("<f8", (2, 3), struct.pack("<6d", *vals), shape_text="(2L, 3L)"))
put("read_npy", "ok-native.npy", npy("=f8", (2, 3), struct.pack("<6d", *vals)))
put("read_npy", "empty-0x3.npy", npy("<f8", (0, 3), b""))
put("read_npy", "bad-0x1e12.npy", npy("<f8", (0, 10**12), b""))
put("read_npy", "bad-huge.npy", npy("<f8", (30000, 30000), b""))
put("read_npy", "bad-1d.npy", npy("<f8", (6,), struct.pack("<6d", *vals)))
put("read_npy", "bad-3d.npy", npy("<f8", (1, 2, 3), struct.pack("<6d", *vals)))
put("read_npy", "bad-short.npy", npy("<f8", (2, 3), struct.pack("<5d", *vals[:5])))
put("read_npy", "bad-long.npy", npy("<f8", (2, 3), struct.pack("<7d", *vals, 6)))
put("read_npy", "bad-negative.npy", npy("<f8", (1, 2), struct.pack("<2d", 1, -2)))
put("read_npy", "bad-nan.npy", npy("<f4", (1, 2), struct.pack("<2f", 1, float("nan"))))
put("read_npy", "bad-complex.npy", npy("<c16", (1, 1), b"\0" * 16))
put("read_npy", "bad-unicode.npy", npy("<U4", (1, 1), b"\0" * 16))
put("read_npy", "bad-record.npy",
    npy(None, (1, 1), b"\0" * 16, raw_descr="[('a', '<f8'), ('b', '<f8')]"))
# Nested brackets in descr: npyz's header parser takes time doubling with each (found by
# fuzzing; 24 would take minutes).
put("read_npy", "bad-nested.npy",
    npy(None, (1, 1), b"\0" * 8, raw_descr="[" * 24 + "'<f8'"))
put("read_npy", "bad-version.npy", b"\x93NUMPY\x04\x00\x10\x00{}")
put("read_npy", "bad-magic.npy", b"NUMPY\x01\x00")

mtx = "read_mtx"
put(mtx, "ok-coordinate-real.mtx",
    "%%MatrixMarket matrix coordinate real general\n% a comment\n2 3 3\n1 1 1.5\n2 3 2e-3\n1 2 0\n")
put(mtx, "ok-coordinate-integer.mtx",
    "%%MatrixMarket matrix coordinate integer general\n3 2 2\n3 1 7\n1 2 4\n")
put(mtx, "ok-pattern.mtx", "%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 1\n2 1\n")
put(mtx, "ok-symmetric.mtx",
    "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 1\n3 1 2\n2 2 5\n")
put(mtx, "ok-skew-zero.mtx", "%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\n2 1 0\n")
put(mtx, "ok-array.mtx", "%%MatrixMarket matrix array real general\n2 3\n1\n2\n3\n4\n5\n6\n")
put(mtx, "ok-array-symmetric.mtx",
    "%%MatrixMarket matrix array real symmetric\r\n2 2\r\n1\r\n2\r\n3\r\n")
put(mtx, "ok-duplicates.mtx", "%%MatrixMarket matrix coordinate real general\n1 1 2\n1 1 1\n1 1 2\n")
put(mtx, "bad-banner.mtx", "%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n")
put(mtx, "bad-index.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n")
put(mtx, "bad-negative.mtx", "%%MatrixMarket matrix array real general\n1 2\n1\n-1\n")
put(mtx, "bad-count.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n")
put(mtx, "bad-zero-dim.mtx", "%%MatrixMarket matrix coordinate real general\n0 1000000000000 0\n")
put(mtx, "bad-array-huge.mtx", "%%MatrixMarket matrix array real general\n30000 30000\n1\n")
put(mtx, "bad-array-zero.mtx", "%%MatrixMarket matrix array real general\n0 1000000000000\n")

# read_csv: the first byte chooses the options (bits 0-1 delimiter auto/comma/tab, bits 2-3
# header auto/yes/no, bit 4 csv/tsv); 0 is auto/auto/csv.
csv = "read_csv"
put(csv, "ok-plain.csv", "\x001,2,3\n4,5,6\n")
put(csv, "ok-header.csv", "\x00a,b\n1,2\n3,4\n")
put(csv, "ok-tab.tsv", "\x10x\ty\n1\t2\n")
put(csv, "ok-quoted.csv", '\x00"a ""q""","b,c"\n"1",2\r\n"3.5e-1", 4\n')
put(csv, "ok-multiline-header.csv", '\x04"line\none",b\n1,2\n')
put(csv, "ok-bom-crlf.csv", "\x00\ufeff1,2\r\n3,4\r\n")
put(csv, "ok-header-no.csv", "\x081e-300,0\n0.5,7\n")
put(csv, "bad-ragged.csv", "\x001,2\n3\n")
put(csv, "bad-empty-field.csv", "\x001,,2\n")
put(csv, "bad-negative.csv", "\x001,-2\n")
put(csv, "bad-nan.csv", "\x001,NaN\n")
put(csv, "bad-unclosed.csv", '\x00"1,2\n3,4\n')
put(csv, "bad-control.csv", "\x001,2\n3,\x1b[31m\x07x\n")
put(csv, "bad-long-cell.csv", "\x001,2\n3," + "x" * 2000 + "\n")
put(csv, "bad-utf8.csv", b"\x001,2\n\xff\xfe\n")

# The arbitrary-driven targets: a few byte strings (any bytes are a valid input).
for name, data in [("zeros", bytes(64)), ("ones", b"\xff" * 64),
                   ("counting", bytes(range(256))), ("small", bytes([1, 2, 3, 4] * 24))]:
    put("params", name, data)
    put("cli_args", name, data)
