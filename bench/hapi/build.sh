#!/usr/bin/env bash
# Builds the HAPI FHIR comparison server of bench/fhir_search.py: the jars listed in pom.xml
# from Maven Central (Maven's own cache, ~/.m2, makes a second build quick), then
# HapiBenchServer.java with javac. Output: $1 (default bench/hapi/target) with lib/ and
# classes/; run it with  java -cp "$OUT/classes:$OUT/lib/*" HapiBenchServer PORT
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/target}"
mkdir -p "$out/lib" "$out/classes"
mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$out/lib"
javac -nowarn -d "$out/classes" -cp "$out/lib/*" "$here/src/HapiBenchServer.java"
echo "built $out"
