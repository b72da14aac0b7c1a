//! Request schemas derived from the domain types' own, so they cannot drift from them: a creation
//! body where the server fills fields in (`id` generated, `startsAt` now), a change where every
//! field is optional, and the JSON Schema keywords utoipa has no attribute for (`if`/`then`, a
//! property that must hold one of several keys).

use std::borrow::Cow;

use serde_json::json;
use utoipa::openapi::schema::{AllOfBuilder, Object, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::alerts::notify::Channel;
use crate::alerts::{Matchers, Rule, Silence};

/// `T`'s own object schema (every type here derives one).
fn object_of<T: PartialSchema>() -> Object {
    match T::schema() {
        RefOr::T(Schema::Object(o)) => o,
        _ => Object::default(),
    }
}

fn optional(o: &mut Object, fields: &[&str]) {
    o.required.retain(|r| !fields.contains(&r.as_str()));
}

/// Percent metrics (cpu, memory, disk) take thresholds of at most 100.
fn percent_threshold(o: &mut Object) {
    let percent: Vec<&str> = [crate::alerts::Metric::Cpu, crate::alerts::Metric::Memory, crate::alerts::Metric::Disk]
        .iter()
        .map(|m| m.as_str())
        .collect();
    let ext = o.extensions.get_or_insert_with(Default::default);
    ext.insert("if".into(), json!({"properties": {"metric": {"enum": percent}}, "required": ["metric"]}));
    ext.insert("then".into(), json!({"properties": {"threshold": {"maximum": 100}}}));
}

/// Pushes `T` and what it refers to, for the document's components.
fn with_components<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

macro_rules! derived {
    ($(#[$doc:meta])* $name:ident from $base:ty, |$o:ident| $body:block) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let mut $o = object_of::<$base>();
                $body
                RefOr::T(Schema::Object($o))
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                with_components::<$base>(schemas);
            }
        }
    };
}

derived!(
    /// `POST /api/alerts/rules`: a [`Rule`] whose `id` is generated when absent.
    NewRule from Rule, |o| {
        optional(&mut o, &["id"]);
        percent_threshold(&mut o);
    }
);

derived!(
    /// `PATCH /api/alerts/rules/{id}`: the fields to replace (`id` cannot change).
    RulePatch from Rule, |o| {
        o.required.clear();
        o.properties.remove("id");
        percent_threshold(&mut o);
    }
);

derived!(
    /// `POST /api/alerts/silences`: a [`Silence`] whose `id` is generated, `startsAt` defaults to
    /// now and `createdBy` to the token's name; `matchers` names at least one of its keys.
    NewSilence from Silence, |o| {
        optional(&mut o, &["id", "startsAt", "createdBy", "comment"]);
        if !o.required.iter().any(|r| r == "matchers") {
            o.required.push("matchers".into());
        }
        // Present and not `null` (the matchers' own schema gives each its type). Written as JSON:
        // utoipa's types have no `not`, and reading JSON into them drops what they do not model.
        let mut one_of_keys = Object::default();
        one_of_keys.extensions.get_or_insert_with(Default::default).insert(
            "anyOf".into(),
            json!(["ruleId", "serverId", "severity"]
                .map(|k| json!({"required": [k], "properties": {k: {"not": {"type": "null"}}}}))),
        );
        let matchers = AllOfBuilder::new()
            .item(RefOr::Ref(Ref::from_schema_name(Matchers::name())))
            .item(RefOr::T(Schema::Object(one_of_keys)))
            .description(Some("At least one of `ruleId`, `serverId`, `severity`"))
            .build();
        o.properties.insert("matchers".into(), RefOr::T(Schema::AllOf(matchers)));
    }
);

derived!(
    /// `POST /api/notifications/channels`: a [`Channel`] whose `id` is generated when absent.
    NewChannel from Channel, |o| {
        optional(&mut o, &["id"]);
    }
);

/// Sets `additionalProperties: false` on each variant of the tagged enums `names`, whose Rust types
/// refuse unknown fields (`deny_unknown_fields`, which utoipa applies to structs only).
pub fn close_variants(components: &mut utoipa::openapi::Components, names: &[Cow<'static, str>]) {
    use utoipa::openapi::schema::AdditionalProperties;
    for name in names {
        let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut(name.as_ref()) else { continue };
        for item in one_of.items.iter_mut() {
            if let RefOr::T(Schema::Object(o)) = item {
                o.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

/// List fields whose checks refuse a repeated item (`probe`'s validation of `runOn`), as
/// (component, property).
const UNIQUE_LISTS: &[(&str, &str)] = &[("CheckSpec", "runOn"), ("CheckPatch", "runOn")];

/// Sets `uniqueItems` on [`UNIQUE_LISTS`]: utoipa emits it for set types only, and these are
/// ordered lists that the checks refuse with a repeated item.
pub fn unique_lists(components: &mut utoipa::openapi::Components) {
    for (component, property) in UNIQUE_LISTS {
        let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(*component) else { continue };
        if let Some(RefOr::T(Schema::Array(a))) = o.properties.get_mut(*property) {
            a.unique_items = true;
        }
    }
}

/// The tagged enums [`close_variants`] closes.
pub fn closed_enums() -> Vec<Cow<'static, str>> {
    vec![crate::alerts::Window::name(), crate::alerts::notify::Target::name()]
}

derived!(
    /// `PATCH /api/checks/{id}`: the fields of a [`CheckSpec`](crate::checks::wire::CheckSpec) to
    /// replace (`id` cannot change).
    CheckPatch from crate::checks::wire::CheckSpec, |o| {
        o.required.clear();
        o.properties.remove("id");
    }
);

derived!(
    /// `PATCH /api/status-page`: the settings to replace.
    StatusPagePatch from crate::status_page::Settings, |o| {
        o.required.clear();
    }
);
