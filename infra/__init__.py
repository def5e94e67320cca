"""The CloudFormation template and the workflow definition, shipped as package data.

`siesa deploy` and the local engine read these files wherever the package is
installed, so nothing depends on running from a checkout.
"""

from __future__ import annotations

from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent
TEMPLATE_PATH = INFRA_DIR / "template.yaml"
DEFINITION_PATH = INFRA_DIR / "statemachine.asl.json"
