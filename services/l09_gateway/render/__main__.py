"""``python -m services.l09_gateway.render [--check] [-o PATH]``: writes gateway/envoy.yaml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.l09_gateway import descriptor
from services.l09_gateway.render.envoy import render

DEFAULT_OUTPUT = descriptor.PROJECT_ROOT / "gateway" / "envoy.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--descriptor", type=Path, default=descriptor.DESCRIPTOR_PATH)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the output file is not up to date"
    )
    args = parser.parse_args(argv)
    text = render(descriptor.load(args.descriptor))
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run 'make gateway' and commit it", file=sys.stderr)
            return 1
        print(f"{args.output} matches {args.descriptor}")
        return 0
    args.output.write_text(text)
    print(f"gateway: {args.output} from {args.descriptor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
