#!/usr/bin/python3
"""
The NumPy/SciPy side of bench:drift: the same statistics on the same data, the way Evidently
computes them (SciPy on in-memory arrays: the current window is accumulated chunk by chunk
into one array, since exact KS and Wasserstein need every value).

    /usr/bin/python3 bench/drift/baseline.py <rows> <reference.json> <chunk>

The data is generated chunk by chunk with the same counter-based hash as bench/drift/data.ts
(identical doubles). Prints one JSON line: timings, peak RSS (ru_maxrss) and the statistics.
"""
import json
import resource
import sys
import time

import numpy as np
from scipy import stats
from scipy.spatial import distance

FEATURES = 20
GOLDEN = 0x9E3779B9


def lowbias32(x):
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    x = x ^ (x >> np.uint32(16))
    return x


def generate_chunk(seed, start, n, shift, out):
    offset = (seed * GOLDEN) % 4294967296
    i = np.arange(start, start + n, dtype=np.uint64)
    for j in range(FEATURES):
        base = (i * np.uint64(FEATURES) + np.uint64(j)) * np.uint64(4)

        def u(k):
            x = ((base + np.uint64(k + offset)) % np.uint64(4294967296)).astype(np.uint32)
            return lowbias32(x) / 4294967296.0

        kind = j % 4
        u0 = u(0)
        if kind == 0:
            v = 10 * u0 + j
        elif kind == 1:
            v = (((u0 + u(1)) + u(2)) + u(3) - 2) * 2 + j
        elif kind == 2:
            v = u0 / (1 - u0 + 0.001)
        else:
            v = np.floor(50 * u0) / 10
        if j < 5:
            v = v + shift
        if j == FEATURES - 1:
            v[(i % np.uint64(1000)) == np.uint64(999)] = np.nan
        out[j, :n] = v


def fill_zeroes(p):
    p = p.copy()
    nz = p[p != 0]
    if nz.size:
        m = nz.min()
        np.place(p, p == 0, m / 10 ** 6 if m <= 0.0001 else 0.0001)
    return p


def main():
    rows = int(sys.argv[1])
    with open(sys.argv[2]) as f:
        reference = json.load(f)
    chunk = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
    t0 = time.perf_counter()
    gen = 0.0
    data = np.empty((FEATURES, rows))
    buf = np.empty((FEATURES, chunk))
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        g0 = time.perf_counter()
        generate_chunk(2, start, n, 0.3, buf)
        gen += time.perf_counter() - g0
        data[:, start:start + n] = buf[:, :n]
    results = []
    for j, ref in enumerate(reference['features']):
        x = data[j]
        nan = np.isnan(x)
        missing = int(nan.sum())
        cur = x[~nan] if missing else x
        sample = np.array(ref['sample'])
        ks = stats.ks_2samp(sample, cur)
        wd = stats.wasserstein_distance(sample, cur) / max(ref['std'], 0.001)
        edges = np.array(ref['histogram']['binEdges'])
        rc = np.array(ref['histogram']['counts'], dtype=float)
        cc = np.histogram(np.clip(cur, edges[0], edges[-1]), edges)[0].astype(float)
        rp, cp = rc / rc.sum(), cc / cc.sum()
        psi = float(np.sum((fill_zeroes(rp) - fill_zeroes(cp)) * np.log(fill_zeroes(rp) / fill_zeroes(cp))))
        js = float(distance.jensenshannon(rp, cp))
        results.append({
            'name': ref['name'], 'ks': float(ks.statistic), 'ksP': float(ks.pvalue), 'wassersteinNorm': float(wd),
            'jensenShannon': js, 'psi': psi, 'missing': missing,
            'outOfRange': int(((cur < ref['min']) | (cur > ref['max'])).sum()),
            'mean': float(cur.mean()), 'std': float(cur.std()),
        })
    total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        'engine': 'numpy/scipy', 'numpy': np.__version__, 'scipy': __import__('scipy').__version__,
        'rows': rows, 'chunk': chunk, 'totalMs': total * 1000, 'generateMs': gen * 1000, 'statsMs': (total - gen) * 1000,
        'peakRssBytes': peak, 'results': results,
    }))


if __name__ == '__main__':
    main()
