#!/usr/bin/env python3
"""Copy the R4 core definitions the validator needs into profiles/data/r4-core/.

Usage: vendor_r4_core.py PACKAGE_DIR [OUTPUT_DIR]

PACKAGE_DIR is the unpacked npm package hl7.fhir.r4.examples@4.0.1 (it holds the
core StructureDefinitions, ValueSets and CodeSystems as single files). Files are
copied unchanged; only what is reached is copied:

- the StructureDefinitions of the served resource types, of every complex data
  type (and type profile) their snapshots reach, and of the core extensions the
  R4 examples of those types use, plus the types those extensions reach;
- the vital signs profiles the VKP Observation profiles derive from;
- the ValueSets of every required binding in those snapshots, the ValueSets they
  import and the CodeSystems they include (only CodeSystems with content
  `complete`: a fragment cannot say what is outside it).

The Rust side lists the copied files in src/validate/core.rs and
src/validate/terminology.rs; the script prints the lists to paste.
"""

import glob
import json
import os
import re
import shutil
import sys

SERVED = ["Patient", "Observation", "Communication", "MedicationStatement",
          "Practitioner", "Organization"]
# Every resource starts from these, and Bundle/contained resources are walked through them.
ROOTS = SERVED + ["DomainResource", "Resource", "Element", "BackboneElement", "Extension"]
CORE = "http://hl7.org/fhir/StructureDefinition/"
# The vital signs profiles the VKP Observation profiles derive from (their snapshots are the
# base of the snapshots generated at load time).
PROFILE_BASES = ["bodytemp", "heartrate", "bodyweight", "oxygensat"]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main():
    pkg = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(__file__), "..", "data", "r4-core")
    os.makedirs(out, exist_ok=True)

    by_url = {}
    for path in glob.glob(os.path.join(pkg, "*.json")):
        name = os.path.basename(path)
        if not name.startswith(("StructureDefinition-", "ValueSet-", "CodeSystem-")):
            continue
        try:
            res = load(path)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(res, dict) and "url" in res:
            by_url[res["url"]] = path

    wanted = [CORE + t for t in ROOTS]
    # Core extensions used by the examples of the served types.
    for t in SERVED:
        for path in glob.glob(os.path.join(pkg, f"{t}-*.json")):
            text = open(path, encoding="utf-8").read()
            for url in re.findall(r'"url"\s*:\s*"(http://hl7\.org/fhir/StructureDefinition/[^"]+)"', text):
                wanted.append(url)

    seen_sd = set()
    value_sets = set()
    while wanted:
        url = wanted.pop()
        if url in seen_sd or url not in by_url:
            continue
        sd = load(by_url[url])
        if sd.get("resourceType") != "StructureDefinition" or sd.get("kind") == "primitive-type":
            continue
        if sd.get("kind") == "resource" and sd["type"] not in ROOTS:
            continue
        seen_sd.add(url)
        if sd.get("baseDefinition"):
            wanted.append(sd["baseDefinition"])
        for e in sd.get("snapshot", {}).get("element", []):
            for t in e.get("type", []):
                code = t.get("code", "")
                if code and not code.startswith("http"):
                    wanted.append(CORE + code)
                wanted.extend(t.get("profile", []))
            b = e.get("binding", {})
            if b.get("strength") == "required" and b.get("valueSet"):
                value_sets.add(b["valueSet"].split("|")[0])

    seen_vs, seen_cs = set(), set()
    todo = sorted(value_sets)
    while todo:
        url = todo.pop()
        if url in seen_vs or url not in by_url:
            continue
        vs = load(by_url[url])
        seen_vs.add(url)
        compose = vs.get("compose", {})
        for inc in compose.get("include", []) + compose.get("exclude", []):
            todo.extend(v.split("|")[0] for v in inc.get("valueSet", []))
            system = inc.get("system")
            if system in by_url and system not in seen_cs:
                cs = load(by_url[system])
                if cs.get("resourceType") == "CodeSystem" and cs.get("content") == "complete":
                    seen_cs.add(system)

    bases = {CORE + b for b in PROFILE_BASES if CORE + b in by_url}
    files = sorted(os.path.basename(by_url[u]) for u in seen_sd | seen_vs | seen_cs | bases)
    for name in files:
        shutil.copyfile(os.path.join(pkg, name), os.path.join(out, name))
    for name in files:
        print(name)


if __name__ == "__main__":
    main()
