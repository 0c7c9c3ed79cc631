#!/bin/sh
# Print a Python >= 3.11 to build the virtual environment with, or say in one line how to get one (exit 2).
#   scripts/find_python.sh            try python3.13, python3.12, python3.11, python3 on PATH, in that order
#   scripts/find_python.sh PYTHON     check only PYTHON (what `make PYTHON=...` passes)
# On Apple Silicon an x86_64 interpreter (Rosetta) is skipped, or refused when named: MLX has no x86_64
# macOS wheels. `sysctl -n hw.optional.arm64` is 1 on Apple Silicon even inside a Rosetta shell.
set -u

if [ "$(uname -s)" = Darwin ]; then
	get="brew install python@3.12, or uv python install 3.12"
else
	get="apt-get install python3.12 (or your distribution's package), or uv python install 3.12"
fi
apple_silicon=0
if [ "$(sysctl -n hw.optional.arm64 2>/dev/null)" = 1 ]; then apple_silicon=1; fi

if [ $# -gt 0 ] && [ -n "$1" ]; then candidates=$1; named=1; else candidates="python3.13 python3.12 python3.11 python3"; named=0; fi
rosetta=""
old=""
for candidate in $candidates; do
	command -v "$candidate" >/dev/null 2>&1 || continue
	# "3.12 arm64"; a broken interpreter prints nothing and is skipped
	facts=$("$candidate" -c 'import platform, sys; print("%d.%d %s" % (sys.version_info[0], sys.version_info[1], platform.machine()))' 2>/dev/null) || continue
	version=${facts% *}
	machine=${facts#* }
	major=${version%.*}
	minor=${version#*.}
	if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 11 ]; }; then
		old="$candidate is Python $version"
		continue
	fi
	if [ "$apple_silicon" = 1 ] && [ "$machine" != arm64 ]; then
		rosetta="$candidate is an $machine"
		continue
	fi
	command -v "$candidate"
	exit 0
done

if [ -n "$rosetta" ]; then
	echo "$rosetta (Rosetta) interpreter on Apple Silicon; MLX needs an arm64 Python: $get" >&2
elif [ -n "$old" ]; then
	echo "need Python 3.11+ ($old): $get, then make PYTHON=python3.12" >&2
elif [ "$named" = 1 ]; then
	echo "$candidates not found: need Python 3.11+: $get" >&2
else
	echo "no Python 3.11+ found (tried $candidates): $get" >&2
fi
exit 2
