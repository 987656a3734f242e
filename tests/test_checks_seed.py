import json

import pytest

from convtheory.checks import seed_checks


def test_every_seed_claim_has_the_predicted_outcome():
    results = seed_checks()
    assert len(results) >= 20
    wrong = [(claim, expected, str(v)) for claim, expected, v, _ in results if bool(v) != expected]
    assert not wrong
    # Both outcomes occur: the suite confirms failures as well as successes.
    assert {expected for _, expected, _, _ in results} == {True, False}
    assert all(v.method in ("symbolic", "exhaustive", "sampled", "numeric") for _, _, v, _ in results)
    # Every verdict serialises to JSON (the report writes them).
    json.dumps([v.to_dict() for _, _, v, _ in results])


def test_only_runs_the_named_claims():
    results = seed_checks(only=["linearity"])
    assert [claim for claim, *_ in results] == ["linearity"]
    with pytest.raises(ValueError, match=r"only names unknown claims \['linearty'\]; the claims are"):
        seed_checks(only=["linearty"])
    with pytest.raises(TypeError, match="only must be an iterable of claim names, got only='linearity'"):
        seed_checks(only="linearity")
