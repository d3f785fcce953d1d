import { memoryPair } from '../../daemon/src/net/memory.js';
import { transportAcceptance } from './transport-acceptance.js';

transportAcceptance('memory', async () => memoryPair(), { sendBuffer: false }); // delivered in memory: no send buffer
