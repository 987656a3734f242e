import json

import numpy as np
import pytest
import sympy

import convtheory.proofs as proofs
from convtheory import ConvSpec, conv_matrix, kernel_symbols
from convtheory.proofs import adjoint, composition, dense_projection, dft_diagonalises, multichannel, shift_circulant
from convtheory.proofs.__main__ import main


@pytest.mark.parametrize("name", proofs.THEOREMS)
def test_each_theorem_holds_at_default_sizes(name):
    (c,) = proofs.prove_all([name])
    assert c, c.details
    assert c.method in ("symbolic", "exhaustive", "sampled", "numeric")
    assert c.sizes and c.argument and c.seconds > 0
    json.dumps(c.to_dict())


class TestShiftCirculant:
    def test_solution_dimension(self):
        c = shift_circulant.prove(sizes=(2, 5), sizes_2d=((2, 3),))
        assert c.details["free_parameters"] == {"2": 2, "5": 5, "2x3": 6}

    def test_zero_padded_conv_does_not_commute(self):
        M = sympy.Matrix(conv_matrix(kernel_symbols((3,)), (5,), padding=1))
        assert any(shift_circulant.shift_equations(M, (5,)))
        C = sympy.Matrix(conv_matrix(kernel_symbols((3,)), (5,), padding=1, padding_mode="circular"))
        assert not any(shift_circulant.shift_equations(C, (5,)))

    def test_zero_padded_2d_conv_is_not_bccb(self):
        M = sympy.Matrix(conv_matrix(kernel_symbols((2, 3)), (3, 3), padding=((0, 1), (1, 1))))
        assert any(shift_circulant.shift_equations(M, (3, 3)))


class TestDFT:
    def test_wrong_eigenvalues_fail(self):
        assert dft_diagonalises._exact(4)
        assert not dft_diagonalises._exact(4, sign=+1)


class TestComposition:
    def test_reversed_composed_kernel_fails(self):
        u, v = kernel_symbols((2,), "u"), kernel_symbols((3,), "v")
        wrong = np.array(composition.composed_kernel(list(u), list(v))[::-1], dtype=object)
        Mv = conv_matrix(v, (6,), padding="full")
        Mu = conv_matrix(u, (Mv.shape[0],), padding="full")
        assert composition.defect_entries(Mu, Mv, conv_matrix(wrong, (6,), padding="full"))

    def test_same_defect_by_hand(self):
        d = composition.same_padding_defect(5, 3, 3)
        assert d["rows"] == [0, 4]
        assert d["entries"] == {"(0, 0)": "-u_0*v_2", "(4, 4)": "-u_2*v_0"}


class TestAdjoint:
    @pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(stride=3, dilation=2, padding=(2, 1))])
    def test_numeric(self, kw, rng):
        w = rng.standard_normal((2, 3, 3, 2))
        spec = ConvSpec(w.shape, (3, 9, 8), **kw)
        T = adjoint.transposed_conv_matrix(w, spec)
        assert abs(T - conv_matrix(w, spec).T).max() < 1e-12

    def test_unflipped_kernel_fails(self):
        w = np.array([1.0, 2.0, 4.0])
        spec = ConvSpec((3,), (7,), stride=2, padding=1)
        wrong = adjoint.transposed_conv_matrix(w, spec, flip=False)
        assert abs(wrong - conv_matrix(w, spec).T).max() > 0

    def test_against_torch(self, rng):
        torch = pytest.importorskip("torch")
        w = rng.standard_normal((2, 3, 3, 3))
        spec = ConvSpec(w.shape, (3, 9, 8), stride=2, padding=1)
        y = rng.standard_normal(spec.output_shape)
        ref = torch.nn.functional.conv_transpose2d(
            torch.from_numpy(y)[None], torch.from_numpy(w), stride=2, padding=1,
            output_padding=(0, 1))[0].numpy()
        assert np.allclose(adjoint.transposed_conv_matrix(w, spec) @ y.ravel(), ref.ravel(), atol=1e-12)


class TestMultichannel:
    def test_block_check_sees_a_swapped_channel(self):
        wshape, ishape, conv = multichannel.CONFIGS[0]
        assert multichannel._check(wshape, ishape, conv)
        # A spec whose channels are flattened in the other order is not the block matrix.
        spec = ConvSpec(wshape, ishape, **conv)
        W = kernel_symbols(spec.weight_shape)
        M = sympy.Matrix(conv_matrix(W, spec))
        P, N = M.shape[0] // 2, M.shape[1] // 3
        single = sympy.Matrix(conv_matrix(W[0, 1], (5,), padding=1))
        assert M[0:P, 0:N] != single and M[0:P, N:2 * N] == single


class TestDenseProjection:
    def test_projection_of_a_conv_is_itself(self, rng):
        w = rng.standard_normal((2, 2, 3))
        spec = ConvSpec(w.shape, (2, 6), padding=1)
        kernel, P = dense_projection.project_onto_convs(conv_matrix(w, spec).toarray(), spec)
        assert np.allclose(kernel, w, atol=1e-12)

    def test_dense_matrix_is_not_a_conv(self, rng):
        spec = ConvSpec((3,), (6,), padding=1)
        W = rng.standard_normal(spec.matrix_shape)
        _, P = dense_projection.project_onto_convs(W, spec)
        residual = W - P.toarray()
        assert np.abs(residual).max() > 0.1
        # The residual is orthogonal to every conv matrix of the geometry.
        for k in range(3):
            Bk = conv_matrix(np.eye(3)[k], spec).toarray()
            assert abs(np.sum(residual * Bk)) < 1e-12

    def test_plain_averaging_is_wrong_when_taps_fold(self):
        # Reflect padding: classes overlap, G is not diagonal; averaging does not recover w.
        spec = ConvSpec((3,), (4,), padding=2, padding_mode="reflect")
        w = np.array([1.0, 2.0, 3.0])
        M = conv_matrix(w, spec).toarray()
        B = dense_projection.tie_matrix(spec).toarray()
        averages = (B.T @ M.ravel()) / B.sum(axis=0)
        assert not np.allclose(averages, w)
        kernel, _ = dense_projection.project_onto_convs(M, spec)
        assert np.allclose(kernel.ravel(), w)


def test_main_writes_json(tmp_path, capsys):
    out = tmp_path / "certs.json"
    assert main(["multichannel", "shift_circulant", "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [d["theorem"] for d in data] == ["multichannel_block_matrix", "shift_commuting_iff_circulant"]
    assert "2/2 hold" in capsys.readouterr().out


def test_unknown_theorem():
    with pytest.raises(ValueError, match=r"unknown theorems \['nope'\]"):
        proofs.prove_all(["nope"])


def test_adjoint_certificate_covers_output_padding_and_can_fail(monkeypatch):
    c = adjoint.prove(sizes=(3,), kernels=(2, 3), strides=(2,), dilations=(1, 2))
    assert c and c.details["output_padding_cases"] > 0
    assert "output_padding" in c.statement
    assert adjoint.output_padding_case(4, 3, 1, 3, 0, 2)  # op >= s: zero rows at the end
    real = adjoint.conv_transpose_matrix

    def ignores_output_padding(w, t):  # the matrix of output_padding=0, zero-padded below
        m = sympy.Matrix(real(w, t.input_shape[1:], stride=t.stride, padding=t.padding,
                              dilation=t.dilation))
        return m.col_join(sympy.zeros(t.matrix_shape[0] - m.shape[0], m.shape[1]))

    monkeypatch.setattr(adjoint, "conv_transpose_matrix", ignores_output_padding)
    assert adjoint.output_padding_case(3, 3, 2, 1, 0, 0)
    assert not adjoint.output_padding_case(3, 3, 2, 1, 1, 1)
