"""``evp-studio models ...``: the model registry (list, verify, path, install) and conversion."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evp_studio import weights

EXIT_DAMAGED = 1


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _size(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f} MB"


def _cmd_list(args: argparse.Namespace) -> int:
    rows = weights.status()
    if args.json:
        data = [
            {
                "name": r.name,
                "state": r.state,
                "path": str(r.path) if r.path is not None else None,
                "size": r.size,
                "sha256_expected": r.sha256_expected,
                "sha256_actual": r.sha256_actual,
                "bundled": r.bundled,
                "description": weights.REGISTRY[r.name].description,
            }
            for r in rows
        ]
        _out(json.dumps({"user_models_dir": str(weights.user_models_dir()), "models": data}))
        return 0
    width = max(len(r.name) for r in rows)
    _out(f"{'NAME':<{width}}  {'STATE':<7}  {'SIZE':>9}  PATH")
    for r in rows:
        _out(f"{r.name:<{width}}  {r.state:<7}  {_size(r.size):>9}  {r.path or '-'}")
    _out(f"user models folder: {weights.user_models_dir()}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    damaged = 0
    for r in weights.status():
        spec = weights.REGISTRY[r.name]
        if r.state == "corrupt":
            damaged += 1
            _out(
                f"{r.name}: CORRUPT {r.path}: sha256 {r.sha256_actual}, expected "
                f"{r.sha256_expected or '(manifest missing)'}; reinstall EVP Studio"
            )
        elif r.state == "missing" and r.bundled:
            damaged += 1
            _out(f"{r.name}: MISSING {spec.filename}. {spec.how_to_get}")
        else:
            _out(f"{r.name}: {r.state} {r.path or '(not installed)'}")
    if damaged:
        _out(f"{damaged} bundled model(s) missing or damaged")
        return EXIT_DAMAGED
    _out("all bundled models present and intact")
    return 0


def _cmd_path(args: argparse.Namespace) -> int:
    _out(str(weights.resolve(args.name)))
    return 0


def _cmd_install(args: argparse.Namespace) -> int:
    dest = weights.install(args.name, args.file)
    _out(f"installed {args.file} as {args.name}: {dest}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from evp_studio.models.convert import convert_official_file  # noqa: PLC0415 - torch

    result = convert_official_file(
        args.file, args.output, content_path=args.content, category_codes_dir=args.features
    )
    model = result["model"]
    parts = [
        name
        for name, prefix in (("Ec", "con_encoder."), ("Ee", "emo_encoder."), ("Ce", "classify."))
        if any(k.startswith(prefix) for k in model)
    ]
    if any(k.startswith("decoder.") for k in model):
        parts.append("D")
    codes = result["category_codes"]
    n_codes = 0 if codes is None else int((~codes.isnan().all(dim=1)).sum())
    source = result["source"]
    _out(
        f"converted {args.file} ({source['kind']}): {', '.join(parts)}; "
        f"{len(source['dropped'])} keys dropped; category codes for {n_codes} emotions; "
        f"saved {args.output}"
    )
    return 0


def add_models_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``models list|verify|path|install|convert-official`` on the CLI."""
    models = sub.add_parser("models", help="model files: list, verify, install, convert")
    verbs = models.add_subparsers(dest="verb", required=True, metavar="VERB")

    ls = verbs.add_parser("list", help="every registered model, where it is and its state")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=_cmd_list)

    verify = verbs.add_parser(
        "verify", help="check the bundled models' sha256 (exit 1 if one is missing or damaged)"
    )
    verify.set_defaults(func=_cmd_verify)

    path = verbs.add_parser("path", help="print the file a model is loaded from")
    path.add_argument("name", choices=sorted(weights.REGISTRY), metavar="NAME")
    path.set_defaults(func=_cmd_path)

    install = verbs.add_parser("install", help="copy a model file into the user models folder")
    install.add_argument("name", choices=sorted(weights.REGISTRY), metavar="NAME")
    install.add_argument("file", type=Path)
    install.set_defaults(func=_cmd_install)

    convert = verbs.add_parser(
        "convert-official",
        help="convert the EVP authors' audio checkpoint (SER_*.pkl, *_pretrain.pth, "
        "audio2lm M0xx_20.pth) to EVP Studio's format",
    )
    convert.add_argument("file", type=Path, help="the official checkpoint")
    convert.add_argument(
        "--content", type=Path, help="second checkpoint holding the content encoder (for SER)"
    )
    convert.add_argument(
        "--features", type=Path, metavar="DIR", help="M0xx_feature folder: category codes"
    )
    convert.add_argument("-o", "--output", type=Path, required=True, help="output .pt file")
    convert.set_defaults(func=_cmd_convert)
