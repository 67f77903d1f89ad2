"""The local-stage token helper, as the README's curl example uses it."""

from __future__ import annotations

import jwt

from chalicelib.core.config import LOCAL_JWT_SECRET
from local_stack import tokens


def test_the_command_prints_a_token_the_local_stage_accepts_with_the_claims_asked(capsys):
    tokens.main(["filer", "--sub", "f1", "--province", "320000"])
    claims = jwt.decode(capsys.readouterr().out.strip(), LOCAL_JWT_SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["province"]) == ("f1", "filer", "320000")
    assert "side" not in claims
