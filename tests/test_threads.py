"""Coarse-grain workers give the same results as the serial code, and respect the BLAS limit."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import convtheory.matrices as matrices
import convtheory.threads as threads
from convtheory import conv_matrix
from convtheory.checks.spectra import conv_singular_values
from convtheory.threads import blas_threads, fft_workers, parallel_blocks, workers


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


class TestThreads:
    def test_workers_follow_the_blas_limit(self):
        with threadpool_limits(1):
            assert workers() == 1
        with threadpool_limits(2):
            assert 1 <= workers() <= 2

    def test_blas_threads_limits_and_restores(self):
        with threadpool_limits(2):
            before = _blas_threads()
            with blas_threads(1):
                assert all(n == 1 for n in _blas_threads())
            assert _blas_threads() == before

    @pytest.mark.parametrize("n_items", [1, 2, 7, 100])
    def test_blocks_cover_every_item_once(self, n_items):
        hits = np.zeros(n_items, dtype=int)

        def mark(start, stop):
            hits[start:stop] += 1

        with threadpool_limits(2):
            parallel_blocks(n_items, mark)
        assert hits.tolist() == [1] * n_items

    def test_an_exception_in_a_block_is_raised(self):
        def fail(start, stop):
            raise KeyError(f"block {start}")

        with threadpool_limits(2), pytest.raises(KeyError, match="block"):
            parallel_blocks(8, fail)

    @pytest.mark.parametrize("n_workers", [1, 2])
    def test_the_first_blocks_exception_is_raised(self, n_workers):
        # Block 0 fails late, block 1 at once: the exception raised was the one that came
        # first in time at two workers, block 0's serially.
        import time

        def fail(start, stop):
            if start == 0:
                time.sleep(0.05)
            raise KeyError(f"block {start}")

        with pytest.raises(KeyError, match="block 0"):
            threads.map_blocks(fail, [(0, 1), (1, 2)], n_workers=n_workers)

    @pytest.mark.parametrize("by_runs", [False, True])
    @pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
    def test_csr_built_in_channel_blocks_equals_the_serial_build(self, rng, monkeypatch, mode,
                                                                 by_runs):
        if by_runs:  # the broadcast of rows with equal taps, else the per-channel gather
            monkeypatch.setattr(matrices, "_ENTRIES_PER_RUN_CALL", 1)
        w = rng.standard_normal((6, 2, 3, 3))
        with threadpool_limits(1):
            serial = conv_matrix(w, (2, 9, 8), padding=1, padding_mode=mode)
        monkeypatch.setattr(matrices, "_ENTRIES_PER_THREAD", 1)
        with threadpool_limits(2):
            blocks = conv_matrix(w, (2, 9, 8), padding=1, padding_mode=mode)
        assert (serial != blocks).nnz == 0
        np.testing.assert_array_equal(serial.indptr, blocks.indptr)
        np.testing.assert_array_equal(serial.indices, blocks.indices)
        x = rng.standard_normal(serial.shape[1])
        dense = serial.toarray()
        np.testing.assert_allclose(blocks @ x, dense @ x, rtol=1e-13)

    def test_singular_values_by_frequency_blocks(self, rng):
        w = rng.standard_normal((3, 2, 3, 3))
        kw = dict(padding="same", padding_mode="circular")
        with threadpool_limits(2):
            s = conv_singular_values(w, (2, 8, 8), **kw)
        dense = np.linalg.svd(conv_matrix(w, (2, 8, 8), **kw).toarray(), compute_uv=False)
        np.testing.assert_allclose(s, dense, rtol=0, atol=1e-11)

    @pytest.mark.parametrize("a_shape, b_shape", [((5, 7), (7, 13)), ((3, 4, 6), (3, 6, 11)),
                                                  ((2, 3), (3, 0))])
    def test_matmul_in_column_blocks_equals_one_product(self, rng, monkeypatch, a_shape, b_shape):
        a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
        monkeypatch.setattr(threads, "BLOCK_GEMM", 1)  # every column its own block
        seen = []
        real = threads.parallel_blocks

        def spy(n, fn, *, min_items=1):
            seen.append(min_items)
            real(n, fn, min_items=min_items)

        monkeypatch.setattr(threads, "parallel_blocks", spy)
        out = np.full((a @ b).shape, np.nan)
        with threadpool_limits(2):
            got = threads.parallel_matmul(a, b, out=out)
        assert got is out and seen == [1]
        # Each block is a BLAS product over the same inner dimension: a BLAS may pick
        # another micro-kernel for a narrow block, so equal up to the sum's rounding.
        np.testing.assert_allclose(got, a @ b, rtol=1e-13, atol=1e-13)

    @pytest.mark.parametrize("shape", [(1, 7, 300, 3), (2, 3, 257, 5), (1, 64, 576, 257),
                                       (1, 256, 2304, 31)])
    def test_matmul_is_bit_identical_at_one_and_two_threads(self, rng, monkeypatch, shape):
        # Blocks were one per worker: 257 columns in one product at one thread, in 128 +
        # 129 at two, and OpenBLAS's kernels for other widths differ in the last bits.
        g, m, k, n = shape
        a, b = rng.standard_normal((g, m, k)), rng.standard_normal((g, k, n))
        monkeypatch.setattr(threads, "BLOCK_GEMM", m * k * g * max(1, n // 3))
        with threadpool_limits(1):
            one = threads.parallel_matmul(a, b)
        with threadpool_limits(2):
            two = threads.parallel_matmul(a, b)
        assert one.tobytes() == two.tobytes()
        np.testing.assert_allclose(one, a @ b, rtol=1e-12, atol=1e-12)

    def test_a_small_matmul_is_one_block(self, monkeypatch):
        calls = []
        monkeypatch.setattr(threads, "parallel_blocks",
                            lambda n, fn, *, min_items=1: calls.append((n, min_items)) or fn(0, n))
        out = threads.parallel_matmul(np.ones((4, 8)), np.ones((8, 16)))
        (n, min_items), = calls
        assert n == 16 and min_items >= 16  # a block needs all 16 columns: one block
        np.testing.assert_array_equal(out, np.full((4, 16), 8.0))

    def test_fft_workers_follow_the_size_and_the_limit(self):
        assert fft_workers(threads.SMALL_FFT - 1) == 1
        with threadpool_limits(1):
            assert fft_workers(threads.SMALL_FFT) == 1
        with threadpool_limits(2):
            assert fft_workers(threads.SMALL_FFT) == workers()
