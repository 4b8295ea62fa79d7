import { describeSinkConformance } from './sink-conformance';
import { ndjsonAdapter } from './sink-adapters/ndjson';

describeSinkConformance(ndjsonAdapter);
