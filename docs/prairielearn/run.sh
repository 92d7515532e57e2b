#!/usr/bin/env bash
# PrairieLearn's external grader runs this once per submission, in a container of the image built
# from docs/prairielearn/Dockerfile (networking off, the question's timeout, at most 600 s). It grades
# the student's file from /grade/student with netlab-run and writes /grade/results/results.json.
# Once that file exists it exits 0: PrairieLearn reads results.json only from a job that exited 0,
# so the student sees a grade or an explanation, never a bare "grading failed". See docs/courses.md.
#
# Overridable for a dry run outside PrairieLearn: GRADE_ROOT (default /grade), NETLAB_RUN_DIR
# (netlab-run's folder, default /opt/netlab-run), NETLAB_LAB (the lab folder, default /opt/lab),
# NETLAB_TIME_LIMIT (seconds, default 280: set it a little under the question's timeout, so netlab-run
# stops and reports before PrairieLearn kills the container).
set -uo pipefail
G=${GRADE_ROOT:-/grade}
NETLAB=${NETLAB_RUN_DIR:-/opt/netlab-run}
LAB=${NETLAB_LAB:-/opt/lab}
LIMIT=${NETLAB_TIME_LIMIT:-280}
RESULTS=$G/results/results.json
OUT=$(mktemp -d -t netlab-prairielearn-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$G/results"

# results.json that grades nothing: the submission is "invalid, not gradable" for PrairieLearn, so the
# student loses no attempt, and reads why.
not_gradable() {
  node -e 'const m = process.argv[1]; process.stdout.write(JSON.stringify({ gradable: false, score: 0, message: m, format_errors: [m], output: "", tests: [] }, null, 2) + "\n")' "$1" > "$RESULTS"
  echo "run.sh: $1"
  exit 0
}

cd "$NETLAB" || not_gradable "The grader is not set up (no netlab-run in $NETLAB): tell the course staff."
file=$(node bin/netlab-run.mjs "$LAB" --list --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s)[0].submissionFile||""))') \
  || not_gradable "The grader's lab does not load: tell the course staff."
[ -n "$file" ] || not_gradable "This lab takes no submission file: tell the course staff."

# The student's file: by its name anywhere under /grade/student, or the one file there.
sub=$(find "$G/student" -type f -name "$file" 2>/dev/null | head -n 1)
if [ -z "$sub" ]; then
  mapfile -t files < <(find "$G/student" -type f ! -name '.*' 2>/dev/null)
  [ "${#files[@]}" -eq 1 ] && sub=${files[0]}
fi
[ -n "$sub" ] || not_gradable "Submit one file named $file (found: $(cd "$G/student" 2>/dev/null && find . -type f | head -n 5 | tr '\n' ' '))."

# No KVM and no network in the grader: netlab-run falls back to TCG and needs neither (the image,
# kernel and boot snapshot were built into the image). SIGINT at the limit: netlab-run stops the VMs
# and still writes what it graded.
timeout -s INT -k 15 "$LIMIT" node bin/netlab-run.mjs "$LAB" --submission "$sub" --out "$OUT" --format prairielearn
code=$?
echo "run.sh: netlab-run exited $code"
if [ -s "$OUT/staff/prairielearn/results.json" ]; then
  cp "$OUT/staff/prairielearn/results.json" "$RESULTS"
  exit 0
fi
if [ "$code" -eq 124 ] || [ "$code" -eq 130 ]; then
  not_gradable "Grading took longer than ${LIMIT} s and was stopped. This is not a judgement of your work: submit again, or tell the course staff."
fi
not_gradable "The grader could not run your submission (netlab-run exit $code). This is not a judgement of your work: submit again, or tell the course staff."
