#!/usr/bin/env python3
"""Generate parsers/src/ocsf/generated.rs from the compiled OCSF schema.

Usage: parsers/tools/gen_ocsf.py SCHEMA.json > parsers/src/ocsf/generated.rs

The event type is the union of the attributes of the classes idlink emits
(plus the host, security_control and cloud profiles), so one serde struct
serves every mapping and the enrichment stage walks one shape. Objects listed
in OBJECTS become typed structs; any other object is kept as a JSON value.
Deprecated attributes are left out so mappings cannot emit them.
"""
import json
import re
import sys

CLASSES = [
    "base_event", "account_change", "authentication", "authorize_session",
    "entity_management", "user_access", "group_management", "email_activity",
    "detection_finding", "api_activity", "network_activity", "http_activity",
    "web_resources_activity",
]
PROFILES = {None, "host", "security_control", "cloud"}
OBJECTS = [
    "metadata", "product", "user", "actor", "network_endpoint", "location",
    "email", "email_auth", "file", "fingerprint", "url", "session", "service",
    "auth_factor", "http_request", "http_header", "device", "group", "policy",
    "malware", "enrichment", "observable", "finding_info", "api", "cloud",
    "resource_details", "idp", "managed_entity", "network_connection_info",
    "account", "organization", "request", "response", "analytic", "attack",
    "tactic", "technique", "web_resource", "authorization", "reporter",
    "logger", "feature", "evidences", "os", "network_interface", "process",
    "http_response", "autonomous_system",
]
STR_TYPES = {"string_t", "email_t", "ip_t", "hostname_t", "url_t", "uuid_t",
             "datetime_t", "file_name_t", "mac_t", "subnet_t", "username_t",
             "resource_uid_t", "file_path_t", "process_name_t", "file_hash_t",
             "reg_key_path_t"}
KEYWORDS = {"type", "ref", "match", "loop", "mod", "use", "self", "impl",
            "async", "await", "move", "static", "struct", "enum", "fn"}


def camel(name):
    return "".join(p.capitalize() for p in name.split("_"))


def rust_type(attr, objects):
    t = attr["type"]
    if t == "object_t":
        ot = attr.get("object_type")
        base = f"Box<{camel(ot)}<'a>>" if ot in objects else "Value"
        if attr.get("is_array"):
            base = f"{camel(ot)}<'a>" if ot in objects else "Value"
    elif t == "unmapped_t":
        base = "Unmapped<'a>"
    elif t in STR_TYPES or t.endswith("_t") and t not in (
            "integer_t", "long_t", "timestamp_t", "float_t", "boolean_t",
            "json_t", "port_t"):
        base = "Str<'a>"
    elif t == "port_t":
        base = "u16"
    elif t == "integer_t":
        base = "i32"
    elif t in ("long_t", "timestamp_t"):
        base = "i64"
    elif t == "float_t":
        base = "f64"
    elif t == "boolean_t":
        base = "bool"
    elif t == "json_t":
        base = "Json"
    else:
        raise SystemExit(f"unknown type {t}")
    return ("vec", f"Vec<{base}>") if attr.get("is_array") else ("opt", f"Option<{base}>")


def keep(attr):
    if "@deprecated" in attr:
        return False
    if attr.get("profile") not in PROFILES:
        return False
    return True


def field(name, attr, objects, out, written):
    kind, ty = rust_type(attr, objects)
    doc = (attr.get("caption") or name).replace("\n", " ")
    out.append(f"    /// {doc}.")
    ident = name
    if name in KEYWORDS:
        out.append(f'    #[serde(rename = "{name}")]')
        ident = f"{name}_"
    if kind == "vec":
        out.append('    #[serde(default, skip_serializing_if = "Vec::is_empty")]')
    else:
        out.append('    #[serde(default, skip_serializing_if = "Option::is_none")]')
    out.append(f"    pub {ident}: {ty},")
    written.append((ident, name, kind))


def write_impl(struct, written, out):
    """`WriteJson` for a generated struct: the fields in declaration order,
    as serde writes them, with each `"key":` a literal (OCSF attribute
    names need no escaping)."""
    out.append(f"impl WriteJson for {struct}<'_> {{")
    out.append("    fn write_json<O: Out>(&self, o: &mut O) -> Result<(), Error> {")
    out.append("        let mut obj = Object::start(o);")
    for ident, name, kind in written:
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise SystemExit(f"attribute name {name!r} would need escaping")
        key = f'b"\\"{name}\\":"'
        if kind == "vec":
            out.append(f"        if !self.{ident}.is_empty() {{")
            out.append(f"            obj.field({key}, &self.{ident})?;")
        else:
            out.append(f"        if let Some(v) = &self.{ident} {{")
            out.append(f"            obj.field({key}, v)?;")
        out.append("        }")
    out.append("        obj.end();")
    out.append("        Ok(())")
    out.append("    }")
    out.append("}")
    out.append("")


FIRST = ["class_uid", "class_name", "category_uid", "category_name",
         "activity_id", "activity_name", "type_uid", "type_name",
         "severity_id", "severity", "time", "metadata"]


def main():
    schema = json.load(open(sys.argv[1]))
    classes = schema["classes"]
    objects = schema["objects"]
    out = ["// @generated by parsers/tools/gen_ocsf.py from the OCSF "
           f"{schema['version']} schema. Do not edit by hand.",
           "#![allow(missing_docs)]",
           "use serde::{Deserialize, Serialize};",
           "use serde_json::Value;",
           "use super::write::{Error, Object, Out, WriteJson};",
           "use super::{Json, Str, Unmapped};", ""]

    # Event: union of class attributes.
    union = {}
    for cname in CLASSES:
        for name, attr in classes[cname]["attributes"].items():
            if not keep(attr):
                continue
            prev = union.get(name)
            if prev is None:
                union[name] = attr
            elif rust_type(prev, OBJECTS) != rust_type(attr, OBJECTS):
                union[name] = {"type": "json_t", "caption": attr.get("caption"),
                               "is_array": False}
    # Its own type: members may borrow from the record (ocsf/unmapped.rs).
    union["unmapped"] = {"type": "unmapped_t", "caption": "Unmapped Data"}
    names = [n for n in FIRST if n in union] + sorted(n for n in union if n not in FIRST)
    out.append("/// One OCSF event of any class idlink emits. `class_uid` decides which")
    out.append("/// attributes are valid; the golden tests and the validator check it.")
    out.append("#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]")
    out.append("pub struct Event<'a> {")
    written = []
    for n in names:
        field(n, union[n], OBJECTS, out, written)
    out.append("}")
    out.append("")
    write_impl("Event", written, out)

    for oname in OBJECTS:
        obj = objects[oname]
        attrs = {n: a for n, a in obj["attributes"].items() if keep(a)}
        out.append(f"/// OCSF object `{oname}`: {obj.get('caption', oname)}.")
        out.append("#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]")
        out.append(f"pub struct {camel(oname)}<'a> {{")
        written = []
        for n in sorted(attrs):
            field(n, attrs[n], OBJECTS, out, written)
        out.append("    #[serde(skip)]")
        out.append("    pub _life: std::marker::PhantomData<&'a ()>,")
        out.append("}")
        out.append("")
        write_impl(camel(oname), written, out)

    # Class table.
    out.append("/// Static facts about one OCSF class.")
    out.append("#[derive(Debug, Clone, Copy, PartialEq, Eq)]")
    out.append("pub struct ClassInfo {")
    out.append("    /// `class_uid`.\n    pub uid: i32,")
    out.append("    /// `class_name`.\n    pub name: &'static str,")
    out.append("    /// `category_uid`.\n    pub category_uid: i32,")
    out.append("    /// `category_name`.\n    pub category_name: &'static str,")
    out.append("    /// `(activity_id, caption, type_name)` triples.\n    pub activities: &'static [(i32, &'static str, &'static str)],")
    out.append("}")
    out.append("")
    for cname in CLASSES:
        c = classes[cname]
        cat_uid = c.get("category_uid", 0)
        cat_name = c.get("category_name", "Uncategorized")
        acts = sorted((int(k), v["caption"]) for k, v in
                      c["attributes"]["activity_id"].get("enum", {}).items())
        acts_s = ", ".join(f'({k}, "{v}", "{c["caption"]}: {v}")' for k, v in acts)
        out.append(f"/// {c['caption']} ({c['uid']}).")
        out.append(f"pub const {cname.upper()}: ClassInfo = ClassInfo {{ uid: {c['uid']}, "
                   f"name: \"{c['caption']}\", category_uid: {cat_uid}, "
                   f"category_name: \"{cat_name}\", activities: &[{acts_s}] }};")
    out.append("")

    # Enum captions for every `_id` attribute of the event and the objects.
    arms = {}
    def add_enums(scope, attrs):
        for n, a in attrs.items():
            if "enum" in a and keep(a) and n.endswith("_id"):
                for k, v in a["enum"].items():
                    arms.setdefault((scope, n, int(k)), v["caption"])
    for cname in CLASSES:
        add_enums(cname, classes[cname]["attributes"])
    for oname in OBJECTS:
        add_enums(oname, objects[oname]["attributes"])
    out.append("/// The caption of enum value `id` of attribute `attr` in `scope` (a class")
    out.append("/// name such as `authentication` or an object name such as `user`).")
    out.append("pub fn caption(scope: &str, attr: &str, id: i64) -> Option<&'static str> {")
    out.append("    Some(match (scope, attr, id) {")
    for (scope, n, k), v in sorted(arms.items()):
        v = v.replace('"', '\\"')
        out.append(f'        ("{scope}", "{n}", {k}) => "{v}",')
    out.append("        _ => return None,")
    out.append("    })")
    out.append("}")
    print("\n".join(out))


main()
