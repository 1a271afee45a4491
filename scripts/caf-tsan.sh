#!/usr/bin/env bash
# Builds CAF 0.17.6's libcaf_core with -fsanitize=thread into build-tsan-caf/ (once;
# later runs reuse it) and prints the library's path. scripts/build.sh tsan links
# build-tsan/ against it.
#
# Why: Debian's libcaf_core is not instrumented, so TSan sees none of the atomics of
# CAF's mailboxes and job queues. Every message then looks unsynchronised: the first
# interop run against Debian's library gave some 42,000 reports, all of them a
# message's bytes written by the sender and read by the receiving actor (and the
# actor's own state from spawn to its first activation). Only an instrumented CAF lets
# TSan see what CAF orders, and so see the races that are ours.
#
# The headers stay Debian's (/usr/include/caf): this script checks that upstream
# 0.17.6's core headers are the same files, so the library it builds has the ABI the
# rest of the build was compiled against.
#
# Source: Debian's own source package of libcaf-dev (actor-framework 0.17.6), fetched
# with apt from the Debian archive the machine already uses (a temporary deb-src list,
# so the machine's apt configuration is untouched; apt checks the tarball against the
# archive's signed index). CAF_SOURCE may name a git repository with the tag 0.17.6 or
# an unpacked 0.17.6 tree instead.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/build-tsan-caf
lib=$out/obj/lib/libcaf_core.so
version=0.17.6
if [[ -f $lib && -f $out/ok ]]; then
  echo "$lib"
  exit 0
fi

rm -rf "$out"
mkdir -p "$out/src"
src=${CAF_SOURCE:-}
if [[ -z $src ]]; then
  # A deb-src line for the Debian archive this machine's packages come from.
  apt_dir=$out/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/fetch"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
    >"$apt_dir/sources.list"
  apt_opts=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$apt_dir/lists" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1
  # Only the upstream tarball is used. apt also asks for Debian's packaging tarball,
  # which some mirrors lack (then apt reports an error after fetching the rest): the
  # header check below proves the tree has the installed headers' ABI, and the tests
  # run against the library built from it.
  (cd "$apt_dir/fetch" && apt-get "${apt_opts[@]}" source --download-only actor-framework >"$apt_dir/source.log" 2>&1) || true
  tarball=$(ls "$apt_dir/fetch/actor-framework_$version.orig.tar."* 2>/dev/null | head -1)
  [[ -n $tarball ]] || { cat "$apt_dir/source.log" >&2; echo "caf-tsan: could not fetch Debian's actor-framework $version source" >&2; exit 1; }
  mkdir -p "$out/debian-src"
  tar -xf "$tarball" -C "$out/debian-src"
  src=$(ls -d "$out/debian-src"/*/ | head -1)
fi
if git -C "$src" rev-parse -q --verify "refs/tags/$version" >/dev/null 2>&1; then
  git -C "$src" archive "$version" | tar -x -C "$out/src"
elif [[ -f $src/libcaf_core/caf/config.hpp ]]; then
  cp -a "$src/." "$out/src/"
else
  echo "caf-tsan: $src is neither a git repository with tag $version nor a CAF source tree" >&2
  exit 1
fi

# Same headers as the installed ones (Debian adds io/, openssl/, test/ and the
# generated build_config.hpp, compared after configuring).
diffs=$(diff -rq "$out/src/libcaf_core/caf" /usr/include/caf | grep -v '^Only in /usr/include' || true)
if [[ -n $diffs ]]; then
  echo "$diffs" >&2
  echo "caf-tsan: CAF $version's core headers differ from /usr/include/caf; refusing to mix them" >&2
  exit 1
fi

# Debian's build_config.hpp: log level QUIET, nothing else defined; the same here.
cmake -S "$out/src" -B "$out/obj" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1" \
  "-DCMAKE_CXX_FLAGS=-fsanitize=thread -fno-omit-frame-pointer" -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
  -DCAF_LOG_LEVEL=QUIET -DCAF_NO_COMPILER_CHECK=ON -DCAF_NO_SUMMARY=ON -DCAF_NO_UNIT_TESTS=ON -DCAF_NO_EXAMPLES=ON \
  -DCAF_NO_TOOLS=ON -DCAF_NO_IO=ON -DCAF_NO_OPENSSL=ON -DCAF_NO_PYTHON=ON -DCAF_NO_OPENCL=ON >"$out/cmake.log" 2>&1
if ! diff -q "$out/obj/libcaf_core/caf/detail/build_config.hpp" /usr/include/caf/detail/build_config.hpp >&2; then
  echo "caf-tsan: build_config.hpp differs from Debian's" >&2
  exit 1
fi
cmake --build "$out/obj" -j2 --target libcaf_core_shared >"$out/build.log" 2>&1
touch "$out/ok"
echo "$lib"
