import { describeSinkConformance } from './sink-conformance';
import { elasticsearchAdapter } from './sink-adapters/elasticsearch';

describeSinkConformance(elasticsearchAdapter);
