//! R4 core examples from hl7.fhir.r4.examples 4.0.1, unchanged apart from re-indentation.

/// Patient-example.json
pub(super) const PATIENT_EXAMPLE: &str = r##"{
 "resourceType": "Patient",
 "id": "example",
 "text": {
  "status": "generated",
  "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n\t\t\t<table>\n\t\t\t\t<tbody>\n\t\t\t\t\t<tr>\n\t\t\t\t\t\t<td>Name</td>\n\t\t\t\t\t\t<td>Peter James \n              <b>Chalmers</b> (&quot;Jim&quot;)\n            </td>\n\t\t\t\t\t</tr>\n\t\t\t\t\t<tr>\n\t\t\t\t\t\t<td>Address</td>\n\t\t\t\t\t\t<td>534 Erewhon, Pleasantville, Vic, 3999</td>\n\t\t\t\t\t</tr>\n\t\t\t\t\t<tr>\n\t\t\t\t\t\t<td>Contacts</td>\n\t\t\t\t\t\t<td>Home: unknown. Work: (03) 5555 6473</td>\n\t\t\t\t\t</tr>\n\t\t\t\t\t<tr>\n\t\t\t\t\t\t<td>Id</td>\n\t\t\t\t\t\t<td>MRN: 12345 (Acme Healthcare)</td>\n\t\t\t\t\t</tr>\n\t\t\t\t</tbody>\n\t\t\t</table>\n\t\t</div>"
 },
 "identifier": [
  {
   "use": "usual",
   "type": {
    "coding": [
     {
      "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
      "code": "MR"
     }
    ]
   },
   "system": "urn:oid:1.2.36.146.595.217.0.1",
   "value": "12345",
   "period": {
    "start": "2001-05-06"
   },
   "assigner": {
    "display": "Acme Healthcare"
   }
  }
 ],
 "active": true,
 "name": [
  {
   "use": "official",
   "family": "Chalmers",
   "given": [
    "Peter",
    "James"
   ]
  },
  {
   "use": "usual",
   "given": [
    "Jim"
   ]
  },
  {
   "use": "maiden",
   "family": "Windsor",
   "given": [
    "Peter",
    "James"
   ],
   "period": {
    "end": "2002"
   }
  }
 ],
 "telecom": [
  {
   "use": "home"
  },
  {
   "system": "phone",
   "value": "(03) 5555 6473",
   "use": "work",
   "rank": 1
  },
  {
   "system": "phone",
   "value": "(03) 3410 5613",
   "use": "mobile",
   "rank": 2
  },
  {
   "system": "phone",
   "value": "(03) 5555 8834",
   "use": "old",
   "period": {
    "end": "2014"
   }
  }
 ],
 "gender": "male",
 "birthDate": "1974-12-25",
 "_birthDate": {
  "extension": [
   {
    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
    "valueDateTime": "1974-12-25T14:35:45-05:00"
   }
  ]
 },
 "deceasedBoolean": false,
 "address": [
  {
   "use": "home",
   "type": "both",
   "text": "534 Erewhon St PeasantVille, Rainbow, Vic  3999",
   "line": [
    "534 Erewhon St"
   ],
   "city": "PleasantVille",
   "district": "Rainbow",
   "state": "Vic",
   "postalCode": "3999",
   "period": {
    "start": "1974-12-25"
   }
  }
 ],
 "contact": [
  {
   "relationship": [
    {
     "coding": [
      {
       "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
       "code": "N"
      }
     ]
    }
   ],
   "name": {
    "family": "du Marché",
    "_family": {
     "extension": [
      {
       "url": "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix",
       "valueString": "VV"
      }
     ]
    },
    "given": [
     "Bénédicte"
    ]
   },
   "telecom": [
    {
     "system": "phone",
     "value": "+33 (237) 998327"
    }
   ],
   "address": {
    "use": "home",
    "type": "both",
    "line": [
     "534 Erewhon St"
    ],
    "city": "PleasantVille",
    "district": "Rainbow",
    "state": "Vic",
    "postalCode": "3999",
    "period": {
     "start": "1974-12-25"
    }
   },
   "gender": "female",
   "period": {
    "start": "2012"
   }
  }
 ],
 "managingOrganization": {
  "reference": "Organization/1"
 }
}"##;

/// Observation-blood-pressure.json
pub(super) const OBSERVATION_BLOOD_PRESSURE: &str = r##"{
 "resourceType": "Observation",
 "id": "blood-pressure",
 "meta": {
  "profile": [
   "http://hl7.org/fhir/StructureDefinition/vitalsigns"
  ]
 },
 "text": {
  "status": "generated",
  "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>Generated Narrative with Details</b></p><p><b>id</b>: blood-pressure</p><p><b>meta</b>: </p><p><b>identifier</b>: urn:uuid:187e0c12-8dd2-67e2-99b2-bf273c878281</p><p><b>basedOn</b>: </p><p><b>status</b>: final</p><p><b>category</b>: Vital Signs <span>(Details : {http://terminology.hl7.org/CodeSystem/observation-category code 'vital-signs' = 'Vital Signs', given as 'Vital Signs'})</span></p><p><b>code</b>: Blood pressure systolic &amp; diastolic <span>(Details : {LOINC code '85354-9' = 'Blood pressure panel with all children optional', given as 'Blood pressure panel with all children optional'})</span></p><p><b>subject</b>: <a>Patient/example</a></p><p><b>effective</b>: 17/09/2012</p><p><b>performer</b>: <a>Practitioner/example</a></p><p><b>interpretation</b>: Below low normal <span>(Details : {http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation code 'L' = 'Low', given as 'low'})</span></p><p><b>bodySite</b>: Right arm <span>(Details : {SNOMED CT code '368209003' = 'Right upper arm', given as 'Right arm'})</span></p><blockquote><p><b>component</b></p><p><b>code</b>: Systolic blood pressure <span>(Details : {LOINC code '8480-6' = 'Systolic blood pressure', given as 'Systolic blood pressure'}; {SNOMED CT code '271649006' = 'Systolic blood pressure', given as 'Systolic blood pressure'}; {http://acme.org/devices/clinical-codes code 'bp-s' = 'bp-s', given as 'Systolic Blood pressure'})</span></p><p><b>value</b>: 107 mmHg<span> (Details: UCUM code mm[Hg] = 'mmHg')</span></p><p><b>interpretation</b>: Normal <span>(Details : {http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation code 'N' = 'Normal', given as 'normal'})</span></p></blockquote><blockquote><p><b>component</b></p><p><b>code</b>: Diastolic blood pressure <span>(Details : {LOINC code '8462-4' = 'Diastolic blood pressure', given as 'Diastolic blood pressure'})</span></p><p><b>value</b>: 60 mmHg<span> (Details: UCUM code mm[Hg] = 'mmHg')</span></p><p><b>interpretation</b>: Below low normal <span>(Details : {http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation code 'L' = 'Low', given as 'low'})</span></p></blockquote></div>"
 },
 "identifier": [
  {
   "system": "urn:ietf:rfc:3986",
   "value": "urn:uuid:187e0c12-8dd2-67e2-99b2-bf273c878281"
  }
 ],
 "basedOn": [
  {
   "identifier": {
    "system": "https://acme.org/identifiers",
    "value": "1234"
   }
  }
 ],
 "status": "final",
 "category": [
  {
   "coding": [
    {
     "system": "http://terminology.hl7.org/CodeSystem/observation-category",
     "code": "vital-signs",
     "display": "Vital Signs"
    }
   ]
  }
 ],
 "code": {
  "coding": [
   {
    "system": "http://loinc.org",
    "code": "85354-9",
    "display": "Blood pressure panel with all children optional"
   }
  ],
  "text": "Blood pressure systolic & diastolic"
 },
 "subject": {
  "reference": "Patient/example"
 },
 "effectiveDateTime": "2012-09-17",
 "performer": [
  {
   "reference": "Practitioner/example"
  }
 ],
 "interpretation": [
  {
   "coding": [
    {
     "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
     "code": "L",
     "display": "low"
    }
   ],
   "text": "Below low normal"
  }
 ],
 "bodySite": {
  "coding": [
   {
    "system": "http://snomed.info/sct",
    "code": "368209003",
    "display": "Right arm"
   }
  ]
 },
 "component": [
  {
   "code": {
    "coding": [
     {
      "system": "http://loinc.org",
      "code": "8480-6",
      "display": "Systolic blood pressure"
     },
     {
      "system": "http://snomed.info/sct",
      "code": "271649006",
      "display": "Systolic blood pressure"
     },
     {
      "system": "http://acme.org/devices/clinical-codes",
      "code": "bp-s",
      "display": "Systolic Blood pressure"
     }
    ]
   },
   "valueQuantity": {
    "value": 107,
    "unit": "mmHg",
    "system": "http://unitsofmeasure.org",
    "code": "mm[Hg]"
   },
   "interpretation": [
    {
     "coding": [
      {
       "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
       "code": "N",
       "display": "normal"
      }
     ],
     "text": "Normal"
    }
   ]
  },
  {
   "code": {
    "coding": [
     {
      "system": "http://loinc.org",
      "code": "8462-4",
      "display": "Diastolic blood pressure"
     }
    ]
   },
   "valueQuantity": {
    "value": 60,
    "unit": "mmHg",
    "system": "http://unitsofmeasure.org",
    "code": "mm[Hg]"
   },
   "interpretation": [
    {
     "coding": [
      {
       "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
       "code": "L",
       "display": "low"
      }
     ],
     "text": "Below low normal"
    }
   ]
  }
 ]
}"##;

/// Communication-example.json
pub(super) const COMMUNICATION_EXAMPLE: &str = r##"{
 "resourceType": "Communication",
 "id": "example",
 "text": {
  "status": "generated",
  "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Patient has very high serum potassium</div>"
 },
 "identifier": [
  {
   "type": {
    "text": "Paging System"
   },
   "system": "urn:oid:1.3.4.5.6.7",
   "value": "2345678901"
  }
 ],
 "instantiatesUri": [
  "http://example.org/hyperkalemia"
 ],
 "partOf": [
  {
   "display": "Serum Potassium Observation"
  }
 ],
 "status": "completed",
 "category": [
  {
   "coding": [
    {
     "system": "http://acme.org/messagetypes",
     "code": "Alert"
    }
   ],
   "text": "Alert"
  }
 ],
 "medium": [
  {
   "coding": [
    {
     "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
     "code": "WRITTEN",
     "display": "written"
    }
   ],
   "text": "written"
  }
 ],
 "subject": {
  "reference": "Patient/example"
 },
 "encounter": {
  "reference": "Encounter/example"
 },
 "sent": "2014-12-12T18:01:10-08:00",
 "received": "2014-12-12T18:01:11-08:00",
 "recipient": [
  {
   "reference": "Practitioner/example"
  }
 ],
 "sender": {
  "reference": "Device/f001"
 },
 "payload": [
  {
   "contentString": "Patient 1 has a very high serum potassium value (7.2 mmol/L on 2014-Dec-12 at 5:55 pm)"
  },
  {
   "contentReference": {
    "display": "Serum Potassium Observation"
   }
  }
 ]
}"##;

/// MedicationStatement-example001.json
pub(super) const MEDICATION_STATEMENT_EXAMPLE001: &str = r##"{
 "resourceType": "MedicationStatement",
 "id": "example001",
 "text": {
  "status": "generated",
  "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>Generated Narrative with Details</b></p><p><b>id</b>: example001</p><p><b>contained</b>: </p><p><b>identifier</b>: 12345689 (OFFICIAL)</p><p><b>status</b>: active</p><p><b>category</b>: Inpatient <span>(Details : {http://terminology.hl7.org/CodeSystem/medication-statement-category code 'inpatient' = 'Inpatient', given as 'Inpatient'})</span></p><p><b>medication</b>: id: med0309; Tylenol PM <span>(Details : {http://hl7.org/fhir/sid/ndc code '50580-506-02' = 'n/a', given as 'Tylenol PM'})</span>; Film-coated tablet (qualifier value) <span>(Details : {SNOMED CT code '385057009' = 'Film-coated tablet', given as 'Film-coated tablet (qualifier value)'})</span></p><p><b>subject</b>: <a>Donald Duck</a></p><p><b>effective</b>: 23/01/2015</p><p><b>dateAsserted</b>: 22/02/2015</p><p><b>informationSource</b>: <a>Donald Duck</a></p><p><b>derivedFrom</b>: <a>MedicationRequest/medrx002</a></p><p><b>reasonCode</b>: Restless Legs <span>(Details : {SNOMED CT code '32914008' = 'Restless legs', given as 'Restless Legs'})</span></p><p><b>note</b>: Patient indicates they miss the occasional dose</p><p><b>dosage</b>: </p></div>"
 },
 "contained": [
  {
   "resourceType": "Medication",
   "id": "med0309",
   "code": {
    "coding": [
     {
      "system": "http://hl7.org/fhir/sid/ndc",
      "code": "50580-506-02",
      "display": "Tylenol PM"
     }
    ]
   },
   "form": {
    "coding": [
     {
      "system": "http://snomed.info/sct",
      "code": "385057009",
      "display": "Film-coated tablet (qualifier value)"
     }
    ]
   },
   "ingredient": [
    {
     "itemCodeableConcept": {
      "coding": [
       {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
        "code": "315266",
        "display": "Acetaminophen 500 MG"
       }
      ]
     },
     "strength": {
      "numerator": {
       "value": 500,
       "system": "http://unitsofmeasure.org",
       "code": "mg"
      },
      "denominator": {
       "value": 1,
       "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
       "code": "Tab"
      }
     }
    },
    {
     "itemCodeableConcept": {
      "coding": [
       {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
        "code": "901813",
        "display": "Diphenhydramine Hydrochloride 25 mg"
       }
      ]
     },
     "strength": {
      "numerator": {
       "value": 25,
       "system": "http://unitsofmeasure.org",
       "code": "mg"
      },
      "denominator": {
       "value": 1,
       "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
       "code": "Tab"
      }
     }
    }
   ],
   "batch": {
    "lotNumber": "9494788",
    "expirationDate": "2017-05-22"
   }
  }
 ],
 "identifier": [
  {
   "use": "official",
   "system": "http://www.bmc.nl/portal/medstatements",
   "value": "12345689"
  }
 ],
 "status": "active",
 "category": {
  "coding": [
   {
    "system": "http://terminology.hl7.org/CodeSystem/medication-statement-category",
    "code": "inpatient",
    "display": "Inpatient"
   }
  ]
 },
 "medicationReference": {
  "reference": "#med0309"
 },
 "subject": {
  "reference": "Patient/pat1",
  "display": "Donald Duck"
 },
 "effectiveDateTime": "2015-01-23",
 "dateAsserted": "2015-02-22",
 "informationSource": {
  "reference": "Patient/pat1",
  "display": "Donald Duck"
 },
 "derivedFrom": [
  {
   "reference": "MedicationRequest/medrx002"
  }
 ],
 "reasonCode": [
  {
   "coding": [
    {
     "system": "http://snomed.info/sct",
     "code": "32914008",
     "display": "Restless Legs"
    }
   ]
  }
 ],
 "note": [
  {
   "text": "Patient indicates they miss the occasional dose"
  }
 ],
 "dosage": [
  {
   "sequence": 1,
   "text": "1-2 tablets once daily at bedtime as needed for restless legs",
   "additionalInstruction": [
    {
     "text": "Taking at bedtime"
    }
   ],
   "timing": {
    "repeat": {
     "frequency": 1,
     "period": 1,
     "periodUnit": "d"
    }
   },
   "asNeededCodeableConcept": {
    "coding": [
     {
      "system": "http://snomed.info/sct",
      "code": "32914008",
      "display": "Restless Legs"
     }
    ]
   },
   "route": {
    "coding": [
     {
      "system": "http://snomed.info/sct",
      "code": "26643006",
      "display": "Oral Route"
     }
    ]
   },
   "doseAndRate": [
    {
     "type": {
      "coding": [
       {
        "system": "http://terminology.hl7.org/CodeSystem/dose-rate-type",
        "code": "ordered",
        "display": "Ordered"
       }
      ]
     },
     "doseRange": {
      "low": {
       "value": 1,
       "unit": "TAB",
       "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
       "code": "TAB"
      },
      "high": {
       "value": 2,
       "unit": "TAB",
       "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
       "code": "TAB"
      }
     }
    }
   ]
  }
 ]
}"##;

/// Practitioner-example.json
pub(super) const PRACTITIONER_EXAMPLE: &str = r##"{
 "resourceType": "Practitioner",
 "id": "example",
 "text": {
  "status": "generated",
  "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n      <p>Dr Adam Careful is a Referring Practitioner for Acme Hospital from 1-Jan 2012 to 31-Mar\n        2012</p>\n    </div>"
 },
 "identifier": [
  {
   "system": "http://www.acme.org/practitioners",
   "value": "23"
  }
 ],
 "active": true,
 "name": [
  {
   "family": "Careful",
   "given": [
    "Adam"
   ],
   "prefix": [
    "Dr"
   ]
  }
 ],
 "address": [
  {
   "use": "home",
   "line": [
    "534 Erewhon St"
   ],
   "city": "PleasantVille",
   "state": "Vic",
   "postalCode": "3999"
  }
 ],
 "qualification": [
  {
   "identifier": [
    {
     "system": "http://example.org/UniversityIdentifier",
     "value": "12345"
    }
   ],
   "code": {
    "coding": [
     {
      "system": "http://terminology.hl7.org/CodeSystem/v2-0360/2.7",
      "code": "BS",
      "display": "Bachelor of Science"
     }
    ],
    "text": "Bachelor of Science"
   },
   "period": {
    "start": "1995"
   },
   "issuer": {
    "display": "Example University"
   }
  }
 ]
}"##;

/// Organization-hl7.json
pub(super) const ORGANIZATION_HL7: &str = r##"{
 "resourceType": "Organization",
 "id": "hl7",
 "text": {
  "status": "generated",
  "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n      Health Level Seven International\n      <br/>\n\t\t\t\t3300 Washtenaw Avenue, Suite 227\n      <br/>\n\t\t\t\tAnn Arbor, MI 48104\n      <br/>\n\t\t\t\tUSA\n      <br/>\n\t\t\t\t(+1) 734-677-7777 (phone)\n      <br/>\n\t\t\t\t(+1) 734-677-6622 (fax)\n      <br/>\n\t\t\t\tE-mail:  \n      <a href=\"mailto:hq@HL7.org\">hq@HL7.org</a>\n    \n    </div>"
 },
 "name": "Health Level Seven International",
 "alias": [
  "HL7 International"
 ],
 "telecom": [
  {
   "system": "phone",
   "value": "(+1) 734-677-7777"
  },
  {
   "system": "fax",
   "value": "(+1) 734-677-6622"
  },
  {
   "system": "email",
   "value": "hq@HL7.org"
  }
 ],
 "address": [
  {
   "line": [
    "3300 Washtenaw Avenue, Suite 227"
   ],
   "city": "Ann Arbor",
   "state": "MI",
   "postalCode": "48104",
   "country": "USA"
  }
 ],
 "endpoint": [
  {
   "reference": "Endpoint/example"
  }
 ]
}"##;

/// Questionnaire-f201.json
pub(super) const QUESTIONNAIRE_F201: &str = r##"{
 "resourceType": "Questionnaire",
 "id": "f201",
 "text": {
  "status": "generated",
  "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n      <pre>Lifelines Questionnaire 1 part 1\n  1. Do you have allergies?\n  2. General Questions:\n    2.a) What is your gender?\n    2.b) What is your date of birth?\n    2.c) What is your country of birth?\n    2.d) What is your marital status?\n    3. Intoxications:\n      3.a) Do you smoke?\n      3.b) Do you drink alcohol?</pre>\n    </div>"
 },
 "url": "http://hl7.org/fhir/Questionnaire/f201",
 "status": "active",
 "subjectType": [
  "Patient"
 ],
 "date": "2010",
 "code": [
  {
   "system": "http://example.org/system/code/lifelines/nl",
   "code": "VL 1-1, 18-65_1.2.2",
   "display": "Lifelines Questionnaire 1 part 1"
  }
 ],
 "item": [
  {
   "linkId": "1",
   "text": "Do you have allergies?",
   "type": "boolean"
  },
  {
   "linkId": "2",
   "text": "General questions",
   "type": "group",
   "item": [
    {
     "linkId": "2.1",
     "text": "What is your gender?",
     "type": "string"
    },
    {
     "linkId": "2.2",
     "text": "What is your date of birth?",
     "type": "date"
    },
    {
     "linkId": "2.3",
     "text": "What is your country of birth?",
     "type": "string"
    },
    {
     "linkId": "2.4",
     "text": "What is your marital status?",
     "type": "string"
    }
   ]
  },
  {
   "linkId": "3",
   "text": "Intoxications",
   "type": "group",
   "item": [
    {
     "linkId": "3.1",
     "text": "Do you smoke?",
     "type": "boolean"
    },
    {
     "linkId": "3.2",
     "text": "Do you drink alchohol?",
     "type": "boolean"
    }
   ]
  }
 ]
}"##;

/// QuestionnaireResponse-3141.json
pub(super) const QUESTIONNAIRE_RESPONSE_3141: &str = r##"{
 "resourceType": "QuestionnaireResponse",
 "id": "3141",
 "text": {
  "status": "generated",
  "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n      <pre>\n            Comorbidity? YES\n              Cardial Comorbidity? YES\n                Angina? YES\n                MI? NO\n              Vascular Comorbidity?\n                (no answers)\n              ...\n            Histopathology\n              Abdominal\n                pT category: 1a\n              ...\n          </pre>\n    </div>"
 },
 "contained": [
  {
   "resourceType": "Patient",
   "id": "patsub",
   "identifier": [
    {
     "system": "http://cancer.questionnaire.org/systems/id/patientnr",
     "value": "A34442332"
    },
    {
     "type": {
      "text": "Dutch BSN"
     },
     "system": "urn:oid:2.16.840.1.113883.2.4.6.3",
     "value": "188912345"
    }
   ],
   "gender": "male",
   "birthDate": "1972-11-30"
  },
  {
   "resourceType": "ServiceRequest",
   "id": "order",
   "status": "unknown",
   "intent": "order",
   "subject": {
    "reference": "#patsub"
   },
   "requester": {
    "reference": "Practitioner/example"
   }
  },
  {
   "resourceType": "Practitioner",
   "id": "questauth",
   "identifier": [
    {
     "type": {
      "text": "AUMC, Den Helder"
     },
     "system": "http://cancer.questionnaire.org/systems/id/org",
     "value": "AUMC"
    }
   ]
  }
 ],
 "identifier": {
  "system": "http://example.org/fhir/NamingSystem/questionnaire-ids",
  "value": "Q12349876"
 },
 "basedOn": [
  {
   "reference": "#order"
  }
 ],
 "partOf": [
  {
   "reference": "Procedure/f201"
  }
 ],
 "status": "completed",
 "subject": {
  "reference": "#patsub"
 },
 "encounter": {
  "reference": "Encounter/example"
 },
 "authored": "2013-02-19T14:15:00-05:00",
 "author": {
  "reference": "#questauth"
 },
 "item": [
  {
   "linkId": "1",
   "item": [
    {
     "linkId": "1.1",
     "answer": [
      {
       "valueCoding": {
        "system": "http://cancer.questionnaire.org/system/code/yesno",
        "code": "1",
        "display": "Yes"
       },
       "item": [
        {
         "linkId": "1.1.1",
         "item": [
          {
           "linkId": "1.1.1.1",
           "answer": [
            {
             "valueCoding": {
              "system": "http://cancer.questionnaire.org/system/code/yesno",
              "code": "1"
             }
            }
           ]
          },
          {
           "linkId": "1.1.1.2",
           "answer": [
            {
             "valueCoding": {
              "system": "http://cancer.questionnaire.org/system/code/yesno",
              "code": "1"
             }
            }
           ]
          },
          {
           "linkId": "1.1.1.3",
           "answer": [
            {
             "valueCoding": {
              "system": "http://cancer.questionnaire.org/system/code/yesno",
              "code": "0"
             }
            }
           ]
          }
         ]
        }
       ]
      }
     ]
    }
   ]
  }
 ]
}"##;

/// Bundle-bundle-response-medsallergies.json
pub(super) const BUNDLE_RESPONSE_MEDSALLERGIES: &str = r##"{
 "resourceType": "Bundle",
 "id": "bundle-response-medsallergies",
 "type": "batch-response",
 "entry": [
  {
   "resource": {
    "resourceType": "Patient",
    "id": "example",
    "meta": {
     "versionId": "1",
     "lastUpdated": "2018-11-12T03:35:20.715Z"
    },
    "text": {
     "status": "generated",
     "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n                        <table>\n                            <tbody>\n                                <tr>\n                                    <td>Name</td>\n                                    <td>Peter James \n                                        <b>Chalmers</b> (&quot;Jim&quot;)\n                                    </td>\n                                </tr>\n                                <tr>\n                                    <td>Address</td>\n                                    <td>534 Erewhon, Pleasantville, Vic, 3999</td>\n                                </tr>\n                                <tr>\n                                    <td>Contacts</td>\n                                    <td>Home: unknown. Work: (03) 5555 6473</td>\n                                </tr>\n                                <tr>\n                                    <td>Id</td>\n                                    <td>MRN: 12345 (Acme Healthcare)</td>\n                                </tr>\n                            </tbody>\n                        </table>\n                    </div>"
    },
    "identifier": [
     {
      "use": "usual",
      "type": {
       "coding": [
        {
         "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
         "code": "MR"
        }
       ]
      },
      "system": "urn:oid:1.2.36.146.595.217.0.1",
      "value": "12345",
      "period": {
       "start": "2001-05-06"
      },
      "assigner": {
       "display": "Acme Healthcare"
      }
     }
    ],
    "active": true,
    "name": [
     {
      "use": "official",
      "family": "Chalmers",
      "given": [
       "Peter",
       "James"
      ]
     },
     {
      "use": "usual",
      "given": [
       "Jim"
      ]
     },
     {
      "use": "maiden",
      "family": "Windsor",
      "given": [
       "Peter",
       "James"
      ],
      "period": {
       "end": "2002"
      }
     }
    ],
    "telecom": [
     {
      "use": "home"
     },
     {
      "system": "phone",
      "value": "(03) 5555 6473",
      "use": "work",
      "rank": 1
     },
     {
      "system": "phone",
      "value": "(03) 3410 5613",
      "use": "mobile",
      "rank": 2
     },
     {
      "system": "phone",
      "value": "(03) 5555 8834",
      "use": "old",
      "period": {
       "end": "2014"
      }
     }
    ],
    "gender": "male",
    "birthDate": "1974-12-25",
    "_birthDate": {
     "extension": [
      {
       "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
       "valueDateTime": "1974-12-25T14:35:45-05:00"
      }
     ]
    },
    "deceasedBoolean": false,
    "address": [
     {
      "use": "home",
      "type": "both",
      "text": "534 Erewhon St PeasantVille, Rainbow, Vic  3999",
      "line": [
       "534 Erewhon St"
      ],
      "city": "PleasantVille",
      "district": "Rainbow",
      "state": "Vic",
      "postalCode": "3999",
      "period": {
       "start": "1974-12-25"
      }
     }
    ],
    "contact": [
     {
      "relationship": [
       {
        "coding": [
         {
          "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
          "code": "N"
         }
        ]
       }
      ],
      "name": {
       "family": "du Marché",
       "_family": {
        "extension": [
         {
          "url": "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix",
          "valueString": "VV"
         }
        ]
       },
       "given": [
        "Bénédicte"
       ]
      },
      "telecom": [
       {
        "system": "phone",
        "value": "+33 (237) 998327"
       }
      ],
      "address": {
       "use": "home",
       "type": "both",
       "line": [
        "534 Erewhon St"
       ],
       "city": "PleasantVille",
       "district": "Rainbow",
       "state": "Vic",
       "postalCode": "3999",
       "period": {
        "start": "1974-12-25"
       }
      },
      "gender": "female",
      "period": {
       "start": "2012"
      }
     }
    ],
    "managingOrganization": {
     "reference": "Organization/1"
    }
   },
   "response": {
    "status": "200",
    "etag": "W/1",
    "lastModified": "2018-11-12T03:35:20.717Z"
   }
  },
  {
   "resource": {
    "resourceType": "Bundle",
    "id": "5bdf95d0-24a6-4024-95f5-d546fb479b",
    "meta": {
     "lastUpdated": "2018-11-12T05:42:16.086Z"
    },
    "type": "searchset",
    "total": 0,
    "link": [
     {
      "relation": "self",
      "url": "http://local.fhir.org:960/r4/MedicationStatement?_format=application/fhir+xml&search-id=804eee4a-0a54-4414-9c07-169952f929&&patient=example&_list=%24current%2Dmedications&_sort=_id"
     }
    ]
   },
   "response": {
    "status": "200",
    "etag": "W/1",
    "lastModified": "2018-11-12T03:35:20.717Z"
   }
  },
  {
   "resource": {
    "resourceType": "Bundle",
    "id": "0c11a91c-3638-4d58-8cf1-40e60f43c6",
    "meta": {
     "lastUpdated": "2018-11-12T05:42:16.209Z"
    },
    "type": "searchset",
    "total": 0,
    "link": [
     {
      "relation": "self",
      "url": "http://local.fhir.org:960/r4/AllergyIntolerance?_format=application/fhir+xml&search-id=b1981f8a-4139-4db6-923d-77d764c990&&patient=example&_list=%24current%2Dallergies&_sort=_id"
     }
    ]
   },
   "response": {
    "status": "200",
    "etag": "W/1",
    "lastModified": "2018-11-12T03:35:20.717Z"
   }
  },
  {
   "resource": {
    "resourceType": "Bundle",
    "id": "19f0fa29-f8fe-4b07-b035-f488893f06",
    "meta": {
     "lastUpdated": "2018-11-12T05:42:16.279Z"
    },
    "type": "searchset",
    "total": 0,
    "link": [
     {
      "relation": "self",
      "url": "http://local.fhir.org:960/r4/Condition?_format=application/fhir+xml&search-id=4d097c43-54aa-4157-b500-be22208dd0&&patient=example&_list=%24current%2Dproblems&_sort=_id"
     }
    ]
   },
   "response": {
    "status": "200",
    "etag": "W/1",
    "lastModified": "2018-11-12T03:35:20.717Z"
   }
  },
  {
   "resource": {
    "resourceType": "Bundle",
    "id": "dff8ab42-33f9-42ec-88c5-83d3f05323",
    "meta": {
     "lastUpdated": "2018-11-12T05:42:16.351Z"
    },
    "type": "searchset",
    "total": 0,
    "link": [
     {
      "relation": "self",
      "url": "http://local.fhir.org:960/r4/MedicationStatement?_format=application/fhir+xml&search-id=31d4af75-cdcf-4f85-9666-4bafadebb5&&patient=example&_sort=_id"
     }
    ]
   },
   "response": {
    "status": "200",
    "etag": "W/1",
    "lastModified": "2018-11-12T03:35:20.717Z"
   }
  }
 ]
}"##;

pub(super) const ALL: &[(&str, &str)] = &[
    ("Patient-example.json", PATIENT_EXAMPLE),
    (
        "Observation-blood-pressure.json",
        OBSERVATION_BLOOD_PRESSURE,
    ),
    ("Communication-example.json", COMMUNICATION_EXAMPLE),
    (
        "MedicationStatement-example001.json",
        MEDICATION_STATEMENT_EXAMPLE001,
    ),
    ("Practitioner-example.json", PRACTITIONER_EXAMPLE),
    ("Organization-hl7.json", ORGANIZATION_HL7),
    ("Questionnaire-f201.json", QUESTIONNAIRE_F201),
    (
        "QuestionnaireResponse-3141.json",
        QUESTIONNAIRE_RESPONSE_3141,
    ),
    (
        "Bundle-bundle-response-medsallergies.json",
        BUNDLE_RESPONSE_MEDSALLERGIES,
    ),
];
