#!/usr/bin/env bash
# make fuzz: the long fuzz run (tests/fuzz with many examples, a random or given seed).
#   PUBLISH_FUZZ_EXAMPLES  examples to generate (default 2000)
#   PUBLISH_FUZZ_SEED      seed (default: random; printed, so a run can be repeated)
# Prints the counts and records them in bench/FUZZ.md (between the fuzz:counts markers).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
N=${PUBLISH_FUZZ_EXAMPLES:-2000}
SEED=${PUBLISH_FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}
STATS=$(mktemp /tmp/publish-fuzz-stats.XXXXXX.json)
trap 'rm -f "$STATS"' EXIT
echo "fuzz: $N examples, seed $SEED"
start=$(date +%s)
PUBLISH_FUZZ_EXAMPLES=$N PUBLISH_FUZZ_SEED=$SEED PUBLISH_FUZZ_STATS=$STATS \
  "$PY" -m pytest tests/fuzz/test_fuzz.py -q -p no:cacheprovider
rc=$?
secs=$(( $(date +%s) - start ))
"$PY" - "$STATS" "$secs" "$rc" <<'PYEOF'
import json, re, sys, datetime
from pathlib import Path

stats_path, secs, rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    data = json.loads(Path(stats_path).read_text(encoding="utf-8"))
except (OSError, ValueError):
    print("fuzz: no counts were written (the run did not start?)")
    sys.exit(0)
o = data["outcomes"]
lines = [
    f"Run of {datetime.date.today().isoformat()}: `PUBLISH_FUZZ_EXAMPLES={data['max_examples']} PUBLISH_FUZZ_SEED={data['seed']} bash scripts/fuzz.sh`"
    f" — {secs // 60} min {secs % 60} s, pytest exit code {rc}.",
    "",
    "| count | what |",
    "|---:|---|",
    f"| {data['examples']} | examples run (generated, explicit and shrinking replays) |",
    f"| {o.get('ok', 0)} | built: every format rendered, every word found in PDF, EPUB and DOCX |",
    f"| {o.get('refused', 0)} | refused by the reader with diagnostics |",
    f"| {o.get('render-refused', 0)} | refused by a writer (RenderError) with diagnostics |",
]
for k, v in sorted(o.items()):
    if k.startswith("excused"):
        lines.append(f"| {v} | {k} |")
lines += [
    f"| {o.get('epubcheck: books', 0)} | EPUBs checked by EPUBCheck (one JVM) |",
    f"| {o.get('epubcheck: invalid', 0)} | EPUBs with EPUBCheck errors or warnings |",
    f"| {o.get('failures', 0) + o.get('epubcheck: invalid', 0)} | failures (a property broken; an exception escaping ends the run, see exit code) |",
    "",
    "Diagnostics by message kind (errors of refused builds; particulars replaced by …/N):",
    "",
    "| count | message |",
    "|---:|---|",
]
for k, v in data["diagnostics"].items():
    lines.append(f"| {v} | `{k.replace('|', '/')}` |")
if data["failures"]:
    lines += ["", "Failures (first 5):", ""]
    for f in data["failures"][:5]:
        lines.append("    " + f[:600])
block = "\n".join(lines)
print("\n" + block)
md = Path("bench/FUZZ.md")
text = md.read_text(encoding="utf-8") if md.exists() else "# Fuzzing\n\n<!-- fuzz:counts -->\n<!-- /fuzz:counts -->\n"
begin, end = "<!-- fuzz:counts -->", "<!-- /fuzz:counts -->"
if begin not in text:
    text += f"\n{begin}\n{end}\n"
text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: f"{begin}\n{block}\n{end}", text, flags=re.S)
md.write_text(text, encoding="utf-8")
print(f"\nfuzz: counts recorded in {md}")
PYEOF
exit $rc
