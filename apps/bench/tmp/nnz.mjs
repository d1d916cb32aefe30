import { loadMnist } from '@backprop/mnist';
const m = loadMnist(); let z=0; for (let i=0;i<78400;i++) if (m.train.images[i]!==0) z++; console.log('nnz first 100', z);
