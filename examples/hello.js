// warden's node example: prints what the sandbox shows to a node program.
const fs = require('fs');
const os = require('os');
const status = fs.readFileSync('/proc/self/status', 'utf8');
const field = (k) => (status.match(new RegExp('^' + k + ':\\s*(.*)$', 'm')) || [])[1];
console.log('hello from node inside warden');
console.log(`  uid=${process.getuid()} pid=${process.pid} interfaces=${Object.keys(os.networkInterfaces())}`);
console.log(`  CapEff=${field('CapEff')} Seccomp=${field('Seccomp')}`);
