import { describeSinkConformance } from './sink-conformance';
import { splunkHecAdapter } from './sink-adapters/splunk-hec';

describeSinkConformance(splunkHecAdapter);
