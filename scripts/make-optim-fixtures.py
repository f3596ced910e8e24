#!/usr/bin/python3
"""Writes fixtures/optim.json: reference optimizer steps and learn-rate schedules from PyTorch.

Run with Debian's PyTorch: /usr/bin/python3 scripts/make-optim-fixtures.py

Optimizers: three seeded float32 parameters, three steps with fixed (stored) gradients, the
parameters after each step, for each solver configuration. Each case carries the dlkit
constructor arguments (solver, options, groups); `torch_optimizer` below is the mapping to
torch.optim, so the table documents how dlkit's options correspond to PyTorch's.
Schedules: the learn rate before each iteration of OneCycleLR and CosineAnnealingLR runs.
"""
import json
import re
import os
import sys

import torch

SHAPES = [[3, 4], [4], [2, 3]]
STEPS = 3

# dlkit defaults (src/optim/*.ts), filled in when a case leaves an option out.
DEFAULTS = {
    'sgdm': dict(learnRate=0.01, momentum=0.9, dampening=0, nesterov=False, l2Regularization=0),
    'adam': dict(learnRate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, amsgrad=False, l2Regularization=0),
    'adamw': dict(learnRate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, amsgrad=False, weightDecay=0.01),
    'rmsprop': dict(learnRate=0.001, squaredGradientDecayFactor=0.99, epsilon=1e-8, momentum=0, centered=False, l2Regularization=0),
}

CASES = [
    dict(name='sgdm momentum 0.9, l2 5e-4', solver='sgdm', options=dict(learnRate=0.1, momentum=0.9, l2Regularization=5e-4)),
    dict(name='sgdm nesterov', solver='sgdm', options=dict(learnRate=0.05, momentum=0.9, nesterov=True, l2Regularization=1e-3)),
    dict(name='sgdm dampening 0.3', solver='sgdm', options=dict(learnRate=0.1, momentum=0.8, dampening=0.3)),
    dict(name='sgd without momentum', solver='sgdm', options=dict(learnRate=0.1, momentum=0)),
    dict(name='sgdm groups: lrFactor, l2Factor', solver='sgdm', options=dict(learnRate=0.1, momentum=0.9, l2Regularization=5e-4),
         groups=[dict(params=[0], lrFactor=0.5, l2Factor=2), dict(params=[1, 2])]),
    # Parameter 1 has no gradient at step 2 (index 1): skipped, its Adam step count lags.
    dict(name='adam l2 1e-2, a skipped gradient', solver='adam', options=dict(learnRate=0.01, l2Regularization=1e-2), skip=[[1, 1]]),
    dict(name='adam defaults', solver='adam', options=dict()),
    dict(name='adam amsgrad, betas 0.8/0.95, epsilon 1e-6', solver='adam',
         options=dict(learnRate=0.02, beta1=0.8, beta2=0.95, epsilon=1e-6, amsgrad=True)),
    dict(name='adamw weight decay 0.1', solver='adamw', options=dict(learnRate=0.01, weightDecay=0.1)),
    dict(name='adamw groups: lrFactor, l2Factor 0', solver='adamw', options=dict(learnRate=0.01, weightDecay=0.05),
         groups=[dict(params=[0, 2], lrFactor=0.1, l2Factor=0), dict(params=[1], lrFactor=2)]),
    dict(name='rmsprop', solver='rmsprop', options=dict(learnRate=0.01)),
    dict(name='rmsprop momentum 0.9, alpha 0.9, l2 1e-3', solver='rmsprop',
         options=dict(learnRate=0.01, squaredGradientDecayFactor=0.9, momentum=0.9, l2Regularization=1e-3)),
    dict(name='rmsprop centered, momentum 0.5', solver='rmsprop', options=dict(learnRate=0.01, centered=True, momentum=0.5)),
]


def torch_optimizer(solver, options, groups, params):
    o = {**DEFAULTS[solver], **options}
    lr = o['learnRate']
    if solver == 'sgdm':
        cls, decay = torch.optim.SGD, o['l2Regularization']
        kw = dict(momentum=o['momentum'], dampening=o['dampening'], nesterov=o['nesterov'], foreach=False)
    elif solver in ('adam', 'adamw'):
        cls = torch.optim.Adam if solver == 'adam' else torch.optim.AdamW
        decay = o['l2Regularization'] if solver == 'adam' else o['weightDecay']
        kw = dict(betas=(o['beta1'], o['beta2']), eps=o['epsilon'], amsgrad=o['amsgrad'], foreach=False)
    else:
        cls, decay = torch.optim.RMSprop, o['l2Regularization']
        kw = dict(alpha=o['squaredGradientDecayFactor'], eps=o['epsilon'], momentum=o['momentum'], centered=o['centered'], foreach=False)
    groups = groups or [dict(params=list(range(len(params))))]
    torch_groups = [dict(params=[params[i] for i in g['params']], lr=lr * g.get('lrFactor', 1),
                         weight_decay=decay * g.get('l2Factor', 1)) for g in groups]
    return cls(torch_groups, lr=lr, weight_decay=decay, **kw)


def flat(t):
    return t.detach().reshape(-1).tolist()


def optimizer_fixtures():
    torch.manual_seed(0)
    initial = [torch.randn(s) for s in SHAPES]
    grads = [[torch.randn(s) for s in SHAPES] for _ in range(STEPS)]
    cases = []
    for case in CASES:
        params = [p.clone().requires_grad_() for p in initial]
        opt = torch_optimizer(case['solver'], case['options'], case.get('groups'), params)
        skip = {tuple(s) for s in case.get('skip', [])}
        after = []
        for step in range(STEPS):
            for i, p in enumerate(params):
                p.grad = None if (step, i) in skip else grads[step][i].clone()
            opt.step()
            after.append([flat(p) for p in params])
        cases.append(dict(name=case['name'], solver=case['solver'], options=case['options'],
                          groups=case.get('groups'), skip=case.get('skip', []), after=after))
    return dict(shapes=SHAPES, initial=[flat(p) for p in initial],
                grads=[[flat(g) for g in step] for step in grads], cases=cases)


def lr_sequence(make_scheduler, base_lr, total):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr, momentum=0.9)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    return lrs


def schedule_fixtures():
    S = torch.optim.lr_scheduler
    out = []

    def one_cycle(name, base, ipe, epochs, dl_options, **torch_kw):
        total = ipe * epochs
        lrs = lr_sequence(lambda o: S.OneCycleLR(o, total_steps=total, **torch_kw), base, total)
        out.append(dict(name=name, schedule='oneCycle', options=dl_options, baseLearnRate=base,
                        iterationsPerEpoch=ipe, maxEpochs=epochs, learnRates=lrs))

    one_cycle('oneCycle defaults', 0.1, 5, 4, {}, max_lr=0.1)
    one_cycle('oneCycle pctStart 0.25, divFactor 10, finalDivFactor 100, maxFactor 2', 0.05, 7, 3,
              dict(maxFactor=2, pctStart=0.25, divFactor=10, finalDivFactor=100),
              max_lr=0.1, pct_start=0.25, div_factor=10.0, final_div_factor=100.0)
    one_cycle('oneCycle linear, pctStart 0.4', 0.2, 4, 5, dict(anneal='linear', pctStart=0.4),
              max_lr=0.2, pct_start=0.4, anneal_strategy='linear')

    def cosine(name, base, ipe, epochs, min_factor):
        total = ipe * epochs
        lrs = lr_sequence(lambda o: S.CosineAnnealingLR(o, T_max=total, eta_min=base * min_factor), base, total)
        out.append(dict(name=name, schedule='cosine', options=dict(minFactor=min_factor) if min_factor else {},
                        baseLearnRate=base, iterationsPerEpoch=ipe, maxEpochs=epochs, learnRates=lrs))

    cosine('cosine minFactor 0.01', 0.1, 5, 4, 0.01)
    cosine('cosine to 0', 1.0, 3, 7, 0)
    return out


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    data = dict(
        generator=f'scripts/make-optim-fixtures.py, torch {torch.__version__}, python {sys.version.split()[0]}',
        optimizers=optimizer_fixtures(),
        schedules=schedule_fixtures(),
    )
    path = os.path.join(root, 'fixtures', 'optim.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = json.dumps(data, indent=1)
    # One line per list of numbers: readable diffs without a number per line.
    text = re.sub(r'\[\s+([-+0-9.eE,\s]+?)\s+\]', lambda m: '[' + ' '.join(m.group(1).split()) + ']', text)
    with open(path, 'w') as f:
        f.write(text + '\n')
    print(f'wrote {os.path.relpath(path, root)}: {len(data["optimizers"]["cases"])} optimizer cases, '
          f'{len(data["schedules"])} schedules')


if __name__ == '__main__':
    main()
