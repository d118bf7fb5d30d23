"""Parity with ElecSus v3.0.8 (../shared/data/elecsus-reference): ElecSus mode to 1e-5,
the exact model within 5e-3, and the golden values of theory-spec §13."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import shared_path

from mohilbert.theory import cell_from_elecsus, get_spectra, spectrum_arrays

KEYS = ("S0", "S1", "S2", "S3")


def _cases():
    path = shared_path("data", "elecsus-reference", "cases.json")
    return json.loads(path.read_text())["cases"]


def _load(case):
    z = np.load(shared_path("data", "elecsus-reference", case["file"]))
    e_in = np.array(case["E_in_re"]) + 1j * np.array(case["E_in_im"])
    return z, e_in


CASE_FILES = [
    "a_RbD2_B0_T20_L75mm_x_N20001.npz",
    "a_RbD2_B0_T80_L75mm_x_N20001.npz",
    "b_RbD2_B6000G_Faraday_T80_L2mm_sminus_N20001.npz",
    "b_RbD2_B6000G_Faraday_T80_L2mm_splus_N20001.npz",
    "b_RbD2_B6000G_Faraday_T80_L2mm_x_N20001.npz",
    "c_RbD2_B6000G_Voigt_T80_L2mm_p45_N20001.npz",
    "c_RbD2_B6000G_Voigt_T80_L2mm_x_N20001.npz",
    "c_RbD2_B6000G_Voigt_T80_L2mm_y_N20001.npz",
    "d_RbD1_B6000G_Faraday_T100_L2mm_x_N20001.npz",
    "f_CsD2_B0_T50_L75mm_x_N20001.npz",
]
# Cs D2 at B = 0: ElecSus's answer depends on which vectors LAPACK returns in the degenerate
# Cs 6P3/2 F'=3 manifold (g_F = 0) combined with its |c|² > 5e-4 cut-off; its own χ₊ and χ₋
# differ by 1.3e-5 there although symmetry makes them equal. We diagonalise by m (pure-m
# states, χ₊ = χ₋ exactly) and cannot reproduce that arbitrariness: 1.4e-4 instead of 1e-5.
COMPAT_TOL = {"f_CsD2_B0_T50_L75mm_x_N20001.npz": 2e-4}


@pytest.mark.parametrize("name", CASE_FILES)
def test_elecsus_mode_reproduces_reference(name):
    case = next(c for c in _cases() if c["file"] == name)
    z, e_in = _load(case)
    out = get_spectra(
        z["detuning_MHz"], e_in, case["p_dict_effective"], outputs=[*KEYS, "alphaPlus", "ChiPlus"]
    )
    tol = COMPAT_TOL.get(name, 1e-5)
    for key, value in zip(KEYS, out[:4], strict=True):
        assert np.abs(value - z[key]).max() <= tol, key
    scale = np.abs(z["alphaPlus"]).max()
    assert np.abs(out[4] - z["alphaPlus"]).max() <= max(1e-4, 5 * tol) * scale
    chi_ref = z["ChiPlus_re"] + 1j * z["ChiPlus_im"]
    assert np.abs(out[5] - chi_ref).max() <= 5 * tol * np.abs(chi_ref).max()


@pytest.mark.parametrize("name", CASE_FILES)
def test_exact_mode_within_5e3(name):
    """Textbook physics with B reversed = ElecSus's handedness; exact line positions."""
    case = next(c for c in _cases() if c["file"] == name)
    z, e_in = _load(case)
    es = cell_from_elecsus(case["p_dict_effective"])
    cell = es.with_(
        conventions="textbook",
        field_theta_deg=180 - es.field_theta_deg,
        field_phi_deg=-es.field_phi_deg,
    )
    out = spectrum_arrays(z["detuning_MHz"], cell, e_in[:2])
    for key in KEYS:
        assert np.abs(out[key] - z[key]).max() < 5e-3, key


def _golden():
    text = shared_path("data", "elecsus-reference", "golden_values.txt").read_text()
    blocks = re.split(r"\n(?=[A-D]: )", text.strip())
    out = {}
    for block in blocks:
        label = block[0]
        flat = " ".join(block.split("\n")[1:])
        values = {}
        for m in re.finditer(
            r"(detuning MHz|ChiPlus\s+Re|ChiPlus\s+Im|ChiMinus Re|ChiMinus Im|ChiZ\s+Re|ChiZ\s+Im|S0|S1|S2|S3)\s+\[([^\]]*)\]",
            flat,
        ):
            values[" ".join(m.group(1).split())] = np.array(m.group(2).split(), dtype=float)
        out[label] = values
    return out


GOLDEN_PARAMS = {
    "A": ({"Elem": "Rb", "Dline": "D2", "T": 20.0, "lcell": 0.075, "Bfield": 0.0}, [1, 0]),
    "B": ({"Elem": "Rb", "Dline": "D2", "T": 100.0, "lcell": 0.002, "Bfield": 6000.0}, [1, 0]),
    "C": (
        {
            "Elem": "Rb",
            "Dline": "D2",
            "T": 100.0,
            "lcell": 0.002,
            "Bfield": 6000.0,
            "Btheta": np.pi / 2,
        },
        [2**-0.5, 2**-0.5],
    ),
    "D": ({"Elem": "Cs", "Dline": "D1", "T": 67.8, "lcell": 0.075, "Bfield": 45.7}, [1, 0]),
}


@pytest.mark.parametrize("label", sorted(GOLDEN_PARAMS))
def test_golden_values(label):
    ref = _golden()[label]
    p_dict, e_in = GOLDEN_PARAMS[label]
    x = ref["detuning MHz"]
    out = get_spectra(
        x, e_in, p_dict, outputs=["S0", "S1", "S2", "S3", "ChiPlus", "ChiMinus", "ChiZ"]
    )
    for key, value in zip(KEYS, out[:4], strict=True):
        np.testing.assert_allclose(value, ref[key], atol=1.5e-6, err_msg=key)
    for name, chi in zip(("ChiPlus", "ChiMinus", "ChiZ"), out[4:], strict=True):
        np.testing.assert_allclose(chi.real, ref[f"{name} Re"], rtol=2e-5, atol=1e-11, err_msg=name)
        np.testing.assert_allclose(chi.imag, ref[f"{name} Im"], rtol=2e-5, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("name", CASE_FILES)
def test_elecsus_mode_fft_equals_direct_sum(name, monkeypatch):
    """ElecSus mode takes the FFT line sum (ElecSus's k(Δ) Doppler width is a convolution
    kernel too): within 1e-6 of the exact direct sum in S0–S3 (issue 17: it took the direct
    sum and was slower than ElecSus)."""
    import mohilbert.atoms.susceptibility as sus

    case = next(c for c in _cases() if c["file"] == name)
    z, e_in = _load(case)
    fft = get_spectra(z["detuning_MHz"], e_in, case["p_dict_effective"], outputs=KEYS)
    monkeypatch.setattr(sus, "_DIRECT_MAX_TERMS", 10**12)  # force the direct sum
    direct = get_spectra(z["detuning_MHz"], e_in, case["p_dict_effective"], outputs=KEYS)
    assert max(np.abs(a - b).max() for a, b in zip(fft, direct, strict=True)) <= 1e-6


@pytest.mark.parametrize(
    "name",
    ["b_RbD2_B6000G_Faraday_T80_L2mm_x_N20001.npz", "c_RbD2_B6000G_Voigt_T80_L2mm_x_N20001.npz"],
)
def test_elecsus_output_list_quantities(name):
    """The outputs ElecSus's output_list() names (nPlus … GIZ, phi) against its reference χ
    and Faraday rotation, and their definitions."""
    case = next(c for c in _cases() if c["file"] == name)
    z, e_in = _load(case)
    x = z["detuning_MHz"]
    names = ["nPlus", "nMinus", "nZ", "phi", "Phi", "TransLeft", "GIPlus", "GIMinus", "GIZ"]
    out = dict(
        zip(names, get_spectra(x, e_in, case["p_dict_effective"], outputs=names), strict=True)
    )
    for n, chi in (("nPlus", "ChiPlus"), ("nMinus", "ChiMinus"), ("nZ", "ChiZ")):
        ref = np.sqrt(1 + z[f"{chi}_re"] + 1j * z[f"{chi}_im"])
        assert np.abs(out[n] - ref).max() <= 1e-5 * np.abs(ref - 1).max(), n
    if "phi_faraday_rad" in z.files:
        assert (
            np.abs(out["phi"] - z["phi_faraday_rad"]).max()
            <= 1e-5 * np.abs(z["phi_faraday_rad"]).max()
        )
    assert np.array_equal(out["phi"], out["Phi"])
    k_l = -np.log(out["TransLeft"]) / (2 * out["nPlus"].imag)
    assert np.allclose(k_l[out["nPlus"].imag > 1e-9], k_l[out["nPlus"].imag > 1e-9][0])
    # group index: n + ν dn/dν, with the ElecSus pairing (GIPlus from nMinus)
    nu = x + 384230426.6
    assert np.allclose(out["GIPlus"], out["nMinus"].real + nu * np.gradient(out["nMinus"].real, x))
    assert np.abs(out["GIZ"] - 1).max() > 1e-3 or "Voigt" not in name


def test_misspelt_p_dict_key_is_an_error():
    with pytest.raises(ValueError) as info:
        get_spectra(np.linspace(-1e3, 1e3, 11), [1, 0, 0], {"Elem": "Rb", "Bfeld": 6000})
    msg = str(info.value)
    assert msg.startswith("p_dict: unknown key 'Bfeld' (did you mean 'Bfield'?); known keys: Elem,")
    # the keys ElecSus's fitting routines read are accepted
    get_spectra(np.linspace(-1e3, 1e3, 11), [1, 0, 0], {"Elem": "Rb", "theta0": 0.0, "Pol": 50})
