"""`make package`: `chalice package` merged with infra/ into one deployable SAM template.

    python -m infra.package [--stage dev] [--region cn-north-1] [--out build/package]

1. `chalice package` once to see which functions and events the app has;
2. build the merge template from them (infra/template.py) and run
   `chalice package --merge-template` with it: `sam.json` + `deployment.zip`;
3. translate the SAM template to plain CloudFormation (`cloudformation.json`, placeholder
   s3:// CodeUri) so cfn-lint also checks what SAM's Events expand to.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.template import Deployment, PackagingError, Wiring, merge_template

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGION = "cn-north-1"
PLACEHOLDER_CODE_URI = "s3://placeholder-bucket/deployment.zip"


@dataclass(frozen=True)
class Packaged:
    sam: Path
    cloudformation: Path
    merge: Path
    zip: Path
    seconds: float


def stage_config(stage: str, root: Path = ROOT) -> dict[str, Any]:
    """The stage's block of .chalice/config.json, over the file's top-level keys."""
    config = json.loads((root / ".chalice" / "config.json").read_text())
    try:
        return {**{k: v for k, v in config.items() if k != "stages"}, **config["stages"][stage]}
    except KeyError:
        raise SystemExit(f"no stage {stage!r} in .chalice/config.json") from None


def stage_environment(stage: str, root: Path = ROOT) -> dict[str, str]:
    """The stage's environment variables from .chalice/config.json."""
    config = json.loads((root / ".chalice" / "config.json").read_text())
    return {
        **config.get("environment_variables", {}),
        **stage_config(stage, root).get("environment_variables", {}),
    }


def stage_deployment(stage: str, root: Path = ROOT) -> Deployment:
    """The stage's throttling, batching and metric names."""
    return Deployment.of_stage(stage_config(stage, root), stage_environment(stage, root))


@dataclass(frozen=True)
class StreamMappingSettings:
    """What every stream trigger's event source mapping is set to on one stage."""

    batch_size: int
    window_seconds: int
    max_retries: int


def stream_mapping(stage: str, root: Path = ROOT) -> StreamMappingSettings:
    """The stage's stream mapping settings, from the same keys the deployed template is built from.

    The local stack's poller reads these too, so it batches and retries as a deployed stage does.
    """
    batching = stage_config(stage, root).get("stream_batching")
    if not batching:
        raise PackagingError(f"stage {stage!r} lacks stream_batching in .chalice/config.json")
    return StreamMappingSettings(
        batch_size=int(batching["batch_size"]),
        window_seconds=int(batching["window_seconds"]),
        max_retries=Wiring().max_retries,
    )


# Compiled extensions name their machine (`*.cpython-311-x86_64-linux-gnu.so`); abi3 ones do not.
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}


def check_architecture(zip_path: Path, sam: dict[str, Any]) -> None:
    """Refuse a package whose compiled wheels were built for another CPU than its functions run on."""
    import zipfile

    wanted = {
        a
        for r in sam["Resources"].values()
        if r.get("Type") == "AWS::Serverless::Function"
        for a in r["Properties"].get("Architectures", ["x86_64"])
    }
    with zipfile.ZipFile(zip_path) as archive:
        built = {
            machine
            for name in archive.namelist()
            if name.endswith(".so")
            for arch, machine in MACHINES.items()
            if f"-{machine}-linux" in name
        }
    if len(wanted) != 1 or built - {MACHINES[a] for a in wanted}:
        raise PackagingError(
            f"functions run on {sorted(wanted)} but the package holds {sorted(built)} extensions"
        )


def _chalice(args: list[str], region: str, root: Path) -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    env.pop("NAVI_FACTS_STREAM_ARN", None)  # the literal placeholder is what names the table
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice) if chalice.exists() else "chalice", *args]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def to_cloudformation(sam: dict[str, Any], region: str) -> dict[str, Any]:
    """Translate a SAM template with aws-sam-translator, as CloudFormation's transform would."""
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform

    class NoManagedPolicies(ManagedPolicyLoader):
        def __init__(self) -> None:  # roles are ours: SAM adds no managed policies to look up
            super().__init__(iam_client=None)

        def load(self) -> dict[str, str]:
            return {}

    template = copy.deepcopy(sam)
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = PLACEHOLDER_CODE_URI
    # The translator picks the partition for its own ARNs from the session's region.
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return transform(template, {}, NoManagedPolicies())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def package(
    stage: str = "dev",
    region: str = DEFAULT_REGION,
    out: Path = ROOT / "build" / "package",
    root: Path = ROOT,
) -> Packaged:
    """Package `stage` for `region` into `out`; returns the files written."""
    started = time.monotonic()
    out = Path(out).resolve()
    discovery = out.parent / f"{out.name}-discovery"
    for directory in (out, discovery):
        shutil.rmtree(directory, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)

    _chalice(["package", "--stage", stage, str(discovery)], region, root)
    discovered = json.loads((discovery / "sam.json").read_text())
    merge = out.parent / f"{out.name}-merge.json"
    merge.write_text(
        json.dumps(
            merge_template(discovered, stage_environment(stage, root), stage_deployment(stage, root)),
            indent=2,
        )
    )
    shutil.rmtree(discovery, ignore_errors=True)

    _chalice(["package", "--stage", stage, "--merge-template", str(merge), str(out)], region, root)
    sam_path = out / "sam.json"
    check_architecture(out / "deployment.zip", json.loads(sam_path.read_text()))
    cfn_path = out / "cloudformation.json"
    cfn_path.write_text(json.dumps(to_cloudformation(json.loads(sam_path.read_text()), region), indent=2))
    return Packaged(
        sam=sam_path,
        cloudformation=cfn_path,
        merge=merge,
        zip=out / "deployment.zip",
        seconds=time.monotonic() - started,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "package")
    args = parser.parse_args(argv)
    packaged = package(args.stage, args.region, args.out)
    print(f"packaged stage {args.stage} for {args.region} in {packaged.seconds:.1f} s")
    print(f"  SAM template:            {packaged.sam}")
    print(f"  CloudFormation (linted): {packaged.cloudformation}")
    print(f"  deployment package:      {packaged.zip} ({packaged.zip.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
