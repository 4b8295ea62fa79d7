import { describeSinkConformance } from './sink-conformance';
import { firehoseAdapter } from './sink-adapters/firehose';

describeSinkConformance(firehoseAdapter);
