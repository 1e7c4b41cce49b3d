//! The Core Business Vocabulary (CBV 2.0) terms an event may use bare (`shipping`,
//! `in_transit`, `po`, …), their URIs, and the old `urn:epcglobal:cbv:` spellings.

/// Which vocabulary a field takes its bare terms from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Term {
    /// No vocabulary.
    None,
    /// Business steps (`cbv:BizStep-…`).
    BizStep,
    /// Dispositions (`cbv:Disp-…`).
    Disposition,
    /// Business transaction types (`cbv:BTT-…`).
    BizTransaction,
    /// Source and destination types (`cbv:SDT-…`).
    SourceDest,
    /// Error declaration reasons (`cbv:ER-…`).
    ErrorReason,
    /// Sensor measurement types and alert types (`gs1:…`).
    Measurement,
    /// Sensor report components (`cbv:Comp-…`).
    Component,
}

/// The standard terms of `term` (space-separated) and the URI prefix of each.
fn terms(term: Term) -> (&'static str, &'static str) {
    match term {
        Term::None => ("", ""),
        Term::BizStep => (BIZ_STEPS, "https://ref.gs1.org/cbv/BizStep-"),
        Term::Disposition => (DISPOSITIONS, "https://ref.gs1.org/cbv/Disp-"),
        Term::BizTransaction => (BIZ_TRANSACTION_TYPES, "https://ref.gs1.org/cbv/BTT-"),
        Term::SourceDest => (SOURCE_DEST_TYPES, "https://ref.gs1.org/cbv/SDT-"),
        Term::ErrorReason => (ERROR_REASONS, "https://ref.gs1.org/cbv/ER-"),
        Term::Measurement => (MEASUREMENT_TYPES, "https://gs1.org/voc/"),
        Term::Component => (COMPONENTS, "https://ref.gs1.org/cbv/Comp-"),
    }
}

/// The standard terms of `term`, bare (`accepting`, `arriving`, …).
pub fn standard_terms(term: Term) -> impl Iterator<Item = &'static str> {
    terms(term).0.split(' ').filter(|w| !w.is_empty())
}

/// A URI of a standard term as the bare term (`https://ref.gs1.org/cbv/BizStep-shipping`
/// → `shipping`); `None` for other values.
pub fn bare(term: Term, uri: &str) -> Option<&str> {
    let word = uri.strip_prefix(terms(term).1)?;
    is_standard(term, word).then_some(word)
}

/// Whether `word` is a standard term of `term`.
pub fn is_standard(term: Term, word: &str) -> bool {
    let listed = |list: &str| list.split(' ').any(|w| w == word);
    !word.is_empty()
        && (listed(terms(term).0) || (term == Term::Measurement && listed(SENSOR_ALERTS)))
}

/// The URI of a bare standard term (`shipping` as a business step →
/// `https://ref.gs1.org/cbv/BizStep-shipping`).
pub fn expand(term: Term, word: &str) -> Option<String> {
    is_standard(term, word).then(|| format!("{}{word}", terms(term).1))
}

/// A CBV 1.x URN (`urn:epcglobal:cbv:bizstep:receiving`) as its CBV 2.0 web URI; anything
/// else unchanged.
pub fn web_uri(s: &str) -> String {
    const OLD: [(&str, &str); 5] = [
        (
            "urn:epcglobal:cbv:bizstep:",
            "https://ref.gs1.org/cbv/BizStep-",
        ),
        ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
        ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
        ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
        ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
    ];
    for (old, new) in OLD {
        if let Some(rest) = s.strip_prefix(old) {
            return format!("{new}{rest}");
        }
    }
    s.to_owned()
}

/// Business steps (CBV 2.0 §7.1).
const BIZ_STEPS: &str = "\
    accepting arriving assembling collecting commissioning consigning \
    creating_class_instance cycle_counting decommissioning departing destroying \
    disassembling dispensing encoding entering_exiting holding inspecting installing \
    killing loading other packing picking receiving removing repackaging repairing \
    replacing reserving retail_selling shipping staging_outbound stock_taking \
    stocking storing transporting unloading unpacking void_shipping sensor_reporting \
    sampling";

/// Dispositions (CBV 2.0 §7.2).
const DISPOSITIONS: &str = "\
    active container_closed damaged destroyed dispensed disposed encoded expired \
    in_progress in_transit inactive no_pedigree_match non_sellable_other \
    partially_dispensed recalled reserved retail_sold returned sellable_accessible \
    sellable_not_accessible stolen unknown available completeness_verified \
    completeness_inferred conformant container_open mismatch_instance mismatch_class \
    mismatch_quantity needs_replacement non_conformant unavailable";

/// Business transaction types.
const BIZ_TRANSACTION_TYPES: &str = "\
    bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt";

/// Source and destination types.
const SOURCE_DEST_TYPES: &str = "\
    owning_party possessing_party location";

/// Error declaration reasons.
const ERROR_REASONS: &str = "\
    did_not_occur incorrect_data";

/// Sensor measurement types (GS1 Web Vocabulary).
const MEASUREMENT_TYPES: &str = "\
    AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity \
    Altitude AmountOfSubstance AmountOfSubstancePerUnitVolume Angle \
    AngularAcceleration AngularMomentum AngularVelocity Area Capacitance Conductance \
    Conductivity Count Density Dimensionless DoseEquivalent DoseEquivalentRate \
    DynamicViscosity ElectricCharge ElectricCurrent ElectricCurrentDensity \
    ElectricFieldStrength Energy Exposure Force Frequency Illuminance Inductance \
    Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux \
    LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass \
    MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute \
    MolarEnergy MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity \
    RelativeHumidity Resistance Resistivity SolidAngle SpecificVolume Speed \
    SurfaceDensity SurfaceTension Temperature Time Torque Voltage Volume \
    VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber";

/// Sensor alert types.
const SENSOR_ALERTS: &str = "\
    ALARM_CONDITION ERROR_CONDITION";

/// Sensor report components.
const COMPONENTS: &str = "\
    x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle \
    easting northing latitude longitude altitude";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_terms_and_old_urns_become_web_uris() {
        assert_eq!(
            expand(Term::BizStep, "shipping").as_deref(),
            Some("https://ref.gs1.org/cbv/BizStep-shipping")
        );
        assert_eq!(expand(Term::BizStep, "in_transit"), None);
        assert_eq!(
            expand(Term::Measurement, "Temperature").as_deref(),
            Some("https://gs1.org/voc/Temperature")
        );
        assert_eq!(
            web_uri("urn:epcglobal:cbv:bizstep:receiving"),
            "https://ref.gs1.org/cbv/BizStep-receiving"
        );
        assert_eq!(BIZ_STEPS.split(' ').count(), 41);
        assert_eq!(DISPOSITIONS.split(' ').count(), 33);
    }
}
