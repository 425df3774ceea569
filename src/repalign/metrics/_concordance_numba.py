"""The numba backend of :mod:`._concordance` (imported only when numba is installed).

The kernels live at module level so numba's on-disk cache (``cache=True``) can reuse the
compiled code across processes instead of compiling it in every process.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["count_rows"]


@numba.njit(cache=True, nogil=True)
def _count_row(x: np.ndarray, y: np.ndarray, buf: np.ndarray, tmp: np.ndarray, out: np.ndarray) -> None:
    m = x.shape[0]
    # Order by x (quicksort), then sort each run of equal x by y: the (x, y) order.
    order = np.argsort(x)
    for p in range(m):
        buf[p] = y[order[p]]
    tied_x = 0
    tied_xy = 0
    p = 0
    while p < m:
        q = p + 1
        xp = x[order[p]]
        while q < m and x[order[q]] == xp:
            q += 1
        run = q - p
        if run > 1:
            tied_x += run * (run - 1) // 2
            buf[p:q] = np.sort(buf[p:q])
            r = 1
            for t in range(p + 1, q):
                if buf[t] == buf[t - 1]:
                    tied_xy += r
                    r += 1
                else:
                    r = 1
        p = q
    # Strict inversions of y in that order (equal values are not inversions):
    # insertion sort on blocks of 32, then bottom-up merges, counting as it sorts.
    discord = 0
    block = 32
    for start in range(0, m, block):
        end = min(start + block, m)
        for t in range(start + 1, end):
            key = buf[t]
            u = t - 1
            while u >= start and buf[u] > key:
                buf[u + 1] = buf[u]
                u -= 1
            buf[u + 1] = key
            discord += t - 1 - u
    width = block
    src = buf
    dst = tmp
    while width < m:
        start = 0
        while start < m:
            mid = min(start + width, m)
            end = min(start + 2 * width, m)
            i = start
            j = mid
            k = start
            while i < mid and j < end:
                if src[i] <= src[j]:
                    dst[k] = src[i]
                    i += 1
                else:
                    dst[k] = src[j]
                    discord += mid - i
                    j += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < end:
                dst[k] = src[j]
                j += 1
                k += 1
            start += 2 * width
        src, dst = dst, src
        width *= 2
    tied_y = 0
    run_y = 1
    for p in range(1, m):
        if src[p] == src[p - 1]:
            tied_y += run_y
            run_y += 1
        else:
            run_y = 1
    out[0] = m * (m - 1) // 2
    out[1] = tied_x
    out[2] = tied_y
    out[3] = tied_xy
    out[4] = discord

@numba.njit(cache=True, parallel=True, nogil=True)
def count_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r, m = x.shape
    out = np.zeros((r, 5), dtype=np.int64)
    for i in numba.prange(r):
        buf = np.empty(m, dtype=np.float64)
        tmp = np.empty(m, dtype=np.float64)
        _count_row(x[i], y[i], buf, tmp, out[i])
    return out
