// The page script of the browser test: OpenTelemetry's web SDK with its
// document-load instrumentation, exporting each span as it ends over
// OTLP/HTTP (protobuf) to the endpoint the page names in
// <meta name="otlp-endpoint">. Bundled at test time (tests/browser_sdk.py)
// from the npm registry's packages; they are never committed.
import { WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { resourceFromAttributes } from '@opentelemetry/resources';

const endpoint = document.querySelector('meta[name="otlp-endpoint"]').content;
const provider = new WebTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'browser' }),
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: endpoint + '/v1/traces' }))],
});
provider.register(); // W3C trace context: what the instrumentation reads the meta element with
registerInstrumentations({ instrumentations: [new DocumentLoadInstrumentation()] });
