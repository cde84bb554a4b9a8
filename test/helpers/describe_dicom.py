"""Describes DICOM files for the real-world corpus test, read independently of the bridge.

Reads each path given on the command line with pydicom (Debian's python3-pydicom) and prints one
JSON object per line: the path, whether pydicom could read it, and the facts the test classifies
by (SOP class, modality, burned-in annotation, transfer syntax, whether it has pixel data). No
value that could identify a patient is printed.
"""
import json
import sys

import pydicom

# Identity attributes by keyword (PS3.15 E.1-1 rows that name or identify a person, a place or a
# device); every PN element and every instance UID count too.
IDENTITY_KEYWORDS = {
    "PatientID", "OtherPatientIDs", "IssuerOfPatientID", "PatientBirthDate", "PatientBirthTime",
    "PatientBirthName", "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers",
    "AccessionNumber", "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "StationName", "DeviceSerialNumber", "MilitaryRank", "MedicalRecordLocator",
    "AdmissionID", "StudyID", "RequestedProcedureID", "PlacerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequest", "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers", "PersonAddress", "PersonTelephoneNumbers",
}
# UIDs that name a kind of thing (a SOP class, a coding scheme), not an instance or a person.
CLASS_UID_KEYWORDS = {
    "SOPClassUID", "ReferencedSOPClassUID", "CodingSchemeUID", "TransferSyntaxUID",
    "RelatedGeneralSOPClassUID", "OriginalSpecializedSOPClassUID", "SOPClassesInStudy",
    "ContextUID", "ReferencedSOPClassUIDInFile", "MediaStorageSOPClassUID",
}
MIN_LENGTH = 4


def vendor_values(ds):
    """What the equipment's maker wrote (kept by every profile): a site named after its vendor shows there."""
    out = []
    for keyword in ("Manufacturer", "ManufacturerModelName", "SoftwareVersions"):
        v = ds.get(keyword)
        if v is None:
            continue
        out.extend(str(x) for x in (v if isinstance(v, pydicom.multival.MultiValue) else [v]) if str(x))
    return out


def identity_values(ds):
    found = set()

    def add(v):
        v = str(v).replace("\0", "").strip()
        if len(v) >= MIN_LENGTH:
            found.add(v)

    for el in ds.iterall():
        if el.tag.group & 1 or el.VR == "SQ" or el.value is None:
            continue
        values = el.value if isinstance(el.value, (list, pydicom.multival.MultiValue)) else [el.value]
        if el.VR == "PN":
            for v in values:
                text = str(v)
                add(text)
                for group in text.split("="):
                    add(group)
                    for part in group.split("^"):
                        add(part)
        elif el.VR == "UI":
            if el.keyword in CLASS_UID_KEYWORDS:
                continue
            for v in values:
                if not str(v).startswith("1.2.840.10008."):
                    add(v)
        elif el.keyword in IDENTITY_KEYWORDS:
            for v in values:
                if isinstance(v, (bytes, bytearray)):
                    continue
                add(v)
    return sorted(found)


def describe(path):
    try:
        ds = pydicom.dcmread(path, force=True)
        meta = getattr(ds, "file_meta", None)
        syntax = str(getattr(meta, "TransferSyntaxUID", "") or "") if meta is not None else ""
        return {
            "path": path,
            "readable": True,
            "sopClass": str(ds.get("SOPClassUID", "") or ""),
            "modality": str(ds.get("Modality", "") or ""),
            "burnedIn": str(ds.get("BurnedInAnnotation", "") or ""),
            "syntax": syntax,
            "pixels": "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds,
            "sopInstance": str(ds.get("SOPInstanceUID", "") or ""),
            "identity": identity_values(ds),
            "vendor": vendor_values(ds),
        }
    except Exception as err:  # any failure: the file is not one pydicom reads
        return {"path": path, "readable": False, "error": type(err).__name__}


for p in sys.argv[1:]:
    print(json.dumps(describe(p)))
