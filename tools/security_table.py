"""Print test-artifacts/security-figures.json as the Markdown table SECURITY.md quotes.

Usage: python -m tools.security_table [PATH]"""
import json
import sys


def main(path: str = "test-artifacts/security-figures.json") -> None:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    print("| suite | database | scale | figures |")
    print("|---|---|---|---|")
    for suite in sorted(data):
        for db in sorted(data[suite]):
            figures = dict(data[suite][db])
            scale = figures.pop("scale", 1)
            shown = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in figures.items())
            print(f"| {suite} | {db} | ×{scale} | {shown} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
