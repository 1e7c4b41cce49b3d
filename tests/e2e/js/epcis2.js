// Builds an EPCIS 2.0 document with the epcis2.js SDK (object, aggregation and
// transformation events with quantities, sensor data and an extension), captures it through
// the SDK's own capture client against the node given as argv[2] (the /epcis base URL) with
// the Authorization header argv[3], polls the capture job with the SDK, and prints the
// outcome and the document as JSON on stdout.
const {
  setup, capture, CaptureResponse, EPCISDocument, ObjectEvent, AggregationEvent,
  TransformationEvent, QuantityElement, SensorElement, SensorReportElement, SensorMetadata,
  ReadPoint, BizLocation, cbv, eventToHashedId,
} = require('epcis2.js');

async function main() {
  const [apiUrl, authorization] = process.argv.slice(2);
  setup({
    apiUrl,
    headers: { 'content-type': 'application/json', authorization },
    documentValidation: true,
    checkExtensions: true,
  });
  const doc = new EPCISDocument();
  doc.setContext(['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld',
    { example: 'http://ns.example.com/epcis/' }]);
  doc.setCreationDate('2026-03-02T12:00:00.000Z').setSchemaVersion('2.0');

  const observed = new ObjectEvent()
    .setEventTime('2026-03-02T08:00:00.000+08:00').setEventTimeZoneOffset('+08:00')
    .setAction(cbv.actionTypes.observe).setBizStep(cbv.bizSteps.inspecting)
    .setDisposition(cbv.dispositions.active)
    .addEPCList(['urn:epc:id:sgtin:4012345.022222.901', 'hdl:88.118.8/GBX-JS-1'])
    .setReadPoint(new ReadPoint().setId('urn:epc:id:sgln:4012345.00001.0'))
    .setBizLocation(new BizLocation().setId('urn:epc:id:sgln:4012345.00001.0'))
    .addQuantity(new QuantityElement().setEpcClass('urn:epc:class:lgtin:4012345.011111.LOTJS')
      .setQuantity(12.5).setUom('KGM'))
    .addSensorElement(new SensorElement()
      .setSensorMetadata(new SensorMetadata().setTime('2026-03-02T07:59:00.000+08:00'))
      .addSensorReport(new SensorReportElement().setType('Temperature').setValue(21.5).setUom('CEL')));
  observed.addExtension('example:inspector', 'Zhang');

  const packed = new AggregationEvent()
    .setEventTime('2026-03-02T09:00:00.000+08:00').setEventTimeZoneOffset('+08:00')
    .setAction(cbv.actionTypes.add).setBizStep(cbv.bizSteps.packing)
    .setParentId('urn:epc:id:sscc:4012345.0000000901')
    .addChildEPCList(['hdl:88.118.8/GBX-JS-1']);

  const made = new TransformationEvent()
    .setEventTime('2026-03-02T07:00:00.000+08:00').setEventTimeZoneOffset('+08:00')
    .setBizStep(cbv.bizSteps.commissioning)
    .addInputQuantity(new QuantityElement().setEpcClass('urn:epc:class:lgtin:4012345.011111.LOTJS')
      .setQuantity(12.5).setUom('KGM'))
    .addOutputEPCList(['hdl:88.118.8/GBX-JS-1']);

  doc.addEvent(observed).addEvent(packed).addEvent(made);
  if (!doc.isValid()) throw new Error('epcis2.js finds its own document invalid');
  const res = await capture(doc);
  const job = new CaptureResponse(res);
  await job.pollForTheCaptureToFinish(5, 200);
  process.stdout.write(JSON.stringify({
    status: res.status,
    location: job.getLocation(),
    running: job.getRunningStatus(),
    success: job.getSuccessStatus(),
    errors: job.getErrors(),
    hashes: [observed, packed, made].map((e) => eventToHashedId(e.toObject(), doc.getContext())),
    document: doc.toObject(),
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
