#!/usr/bin/env python3
"""Generate profiles/data/r4-types.json from the R4 core StructureDefinitions.

Usage: gen_r4_types.py PACKAGE_DIR [OUTPUT]

PACKAGE_DIR is an unpacked npm package that holds the R4 core
StructureDefinition-*.json files with snapshots (hl7.fhir.r4.examples@4.0.1 or
hl7.fhir.r4.core@4.0.1). OUTPUT defaults to ../data/r4-types.json next to this
script.

Output format (minified JSON, short keys to keep the embedded file small):

  {"fhirVersion": "4.0.1",
   "types": {
     NAME: {
       "k": "r" | "c" | "p",   resource, complex-type or primitive-type
       "a": 1,                 present only for abstract types
       "b": BASE,              base type name; absent for Element and Resource
       "e": [ELEMENT, ...],    elements this type defines itself (not the ones it
                               inherits from BASE), in snapshot order
       "j": "b" | "n" | "s",   primitives only: JSON kind boolean/number/string
       "r": REGEX              primitives only, when the spec gives one
       "l": LENGTH             primitives only, the value's maxLength if any
     }}}

  ELEMENT = [PATH, MIN, MAX, TYPES]
    PATH   path relative to the type ("contact.name"); choice elements keep "[x]"
    MIN    integer
    MAX    integer, or "*"
    TYPES  list of type codes, or the contentReference string ("#Questionnaire.item")

Inherited elements are left out because every snapshot repeats them (id,
extension, modifierExtension, meta, text, ...); the checker re-adds them from
BASE, and for backbone elements from the element's own type code
(BackboneElement or Element).
"""

import glob
import json
import os
import sys

FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
KINDS = {"resource": "r", "complex-type": "c", "primitive-type": "p"}
SYSTEM_JSON_KIND = {
    "http://hl7.org/fhirpath/System.Boolean": "b",
    "http://hl7.org/fhirpath/System.Integer": "n",
    "http://hl7.org/fhirpath/System.Decimal": "n",
}


def ext_value(type_entry, url):
    for ext in type_entry.get("extension", []):
        if ext.get("url") == url:
            for key, value in ext.items():
                if key.startswith("value"):
                    return value
    return None


def type_codes(sd_type, element):
    codes = []
    for t in element.get("type", []):
        code = t["code"]
        if code.startswith("http://hl7.org/fhirpath/System."):
            # Element.id, Extension.url, Resource.id and the like are typed as
            # FHIRPath system types; the FHIR type is in an extension.
            code = ext_value(t, FHIR_TYPE_EXT) or "string"
        codes.append(code)
    # The R4 snapshot types Resource.id as a plain string, but the spec
    # (resource.html, and every validator) requires the `id` pattern there.
    if sd_type == "Resource" and element["path"] == "Resource.id":
        codes = ["id"]
    return codes


def is_own(sd_type, element):
    base_path = element.get("base", {}).get("path", element["path"])
    return base_path == sd_type or base_path.startswith(sd_type + ".")


def load(folder):
    sds = {}
    for name in sorted(glob.glob(os.path.join(folder, "StructureDefinition-*.json"))):
        with open(name, encoding="utf-8") as f:
            sd = json.load(f)
        if sd.get("resourceType") != "StructureDefinition":
            continue
        if sd.get("kind") not in KINDS:
            continue  # logical models
        # Element and Resource carry no derivation; everything else we want
        # is a specialization. Constraints are profiles, not types.
        if sd.get("derivation", "specialization") != "specialization":
            continue
        if sd["type"] != sd["id"]:
            continue
        sds[sd["type"]] = sd
    return sds


def primitive_info(sds, sd):
    value = next(e for e in sd["snapshot"]["element"] if e["path"] == sd["type"] + ".value")
    t = value["type"][0]
    info = {}
    regex = ext_value(t, REGEX_EXT)
    if regex is not None:
        info["r"] = regex
    # positiveInt and unsignedInt are typed System.String in the R4 snapshot,
    # yet are JSON numbers; walk up to the primitive that defines the kind.
    root = sd
    while root["baseDefinition"].rsplit("/", 1)[-1] in sds and sds[
        root["baseDefinition"].rsplit("/", 1)[-1]
    ]["kind"] == "primitive-type":
        root = sds[root["baseDefinition"].rsplit("/", 1)[-1]]
    root_value = next(
        e for e in root["snapshot"]["element"] if e["path"] == root["type"] + ".value"
    )
    if "maxLength" in value:
        info["l"] = value["maxLength"]
    info["j"] = SYSTEM_JSON_KIND.get(root_value["type"][0]["code"], "s")
    return info


def convert(sds):
    types = {}
    for name in sorted(sds):
        sd = sds[name]
        out = {"k": KINDS[sd["kind"]]}
        if sd.get("abstract"):
            out["a"] = 1
        base = sd.get("baseDefinition")
        if base:
            out["b"] = base.rsplit("/", 1)[-1]
        if sd["kind"] == "primitive-type":
            out.update(primitive_info(sds, sd))
            # Primitives only add `value`, which JSON carries as the property
            # itself; id and extension come from Element.
            types[name] = out
            continue
        elements = []
        for e in sd["snapshot"]["element"]:
            path = e["path"]
            if path == name or not is_own(name, e):
                continue
            rel = path[len(name) + 1 :]
            mx = e["max"]
            mx = "*" if mx == "*" else int(mx)
            if "contentReference" in e:
                types_or_ref = e["contentReference"]
            else:
                types_or_ref = type_codes(name, e)
            elements.append([rel, int(e["min"]), mx, types_or_ref])
        out["e"] = elements
        types[name] = out
    return {"fhirVersion": "4.0.1", "types": types}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    output = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "data", "r4-types.json")
    output = os.path.normpath(output)
    data = convert(load(folder))
    with open(output, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"), ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(data['types'])} types to {output}")


if __name__ == "__main__":
    main()
