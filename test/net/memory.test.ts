import { memoryPair } from '../../daemon/src/net/memory.js';
import { transportAcceptance } from './transport-acceptance.js';

transportAcceptance('memory', async () => memoryPair());
