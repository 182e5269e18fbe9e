import {
  compactBroadcast,
  compactChangeOf,
  encodeChange,
  encodeGone,
  type FieldPath,
  type FieldSet,
  renderCompactChange,
} from '@lensync/protocol'
import { describe, expect, it } from 'vitest'

// The hub renders a broadcast's compact form from the write itself
// (`compactChangeOf`); other nodes' changes come as version 1 text
// (`compactBroadcast`). Both must write the same bytes.
describe('compactChangeOf', () => {
  const patches: { set: FieldSet[]; unset?: FieldPath[] }[] = [
    { set: [[['status'], { json: 'in review' }]] },
    {
      set: [
        [['a', 'b'], { json: { deep: [1, 2, null] } }],
        [['n'], { json: -0 }],
      ],
    },
    { set: [[['when'], { json: '2020-01-01T00:00:00.000Z', meta: { values: ['Date'] } }]], unset: [['old']] },
    { set: [[['x'], { json: 1, meta: null }]], unset: [] },
    { set: [], unset: [['gone'], ['deep', 'er']] },
    { set: [] },
    { set: [], unset: [] },
    { set: [[['u'], { json: undefined }]] },
  ]
  for (const body of patches)
    it(`writes a patch's change as compactBroadcast does: ${JSON.stringify(body)}`, () => {
      const v1 = encodeChange('doc', 'x', 7, {
        set: JSON.stringify(body.set),
        unset: body.unset === undefined ? undefined : JSON.stringify(body.unset),
      })
      expect(renderCompactChange(compactChangeOf(body), 7)('3')).toBe(compactBroadcast(v1)('3'))
      expect(renderCompactChange(compactChangeOf(body), 7)('["doc","x"]')).toBe(
        compactBroadcast(v1)('["doc","x"]'),
      )
      // Version 3's short change, where the change has one.
      for (const ref of ['3', '["doc","x"]'])
        expect(renderCompactChange(compactChangeOf(body), 7)(ref, true)).toBe(compactBroadcast(v1)(ref, true))
    })

  for (const value of [
    '{"json":{"a":1,"b":"two"}}',
    '{"json":{"when":"2020-01-01T00:00:00.000Z"},"meta":{"values":{"when":["Date"]}}}',
    '{"json":null}',
    '{"json":{"text":"a \\"meta\\" inside"}}',
  ])
    it(`writes a put's change as compactBroadcast does: ${value}`, () => {
      const v1 = encodeChange('doc', 'x', 9, { value })
      expect(renderCompactChange(compactChangeOf({ value }), 9)('12')).toBe(compactBroadcast(v1)('12'))
      expect(renderCompactChange(compactChangeOf({ value }), 9)('12', true)).toBe(compactBroadcast(v1)('12'))
    })

  it("writes a delete's gone as compactBroadcast does", () => {
    expect(renderCompactChange(compactChangeOf('gone'), 4)('2')).toBe(
      compactBroadcast(encodeGone('doc', 'x', 4))('2'),
    )
    expect(renderCompactChange(compactChangeOf('gone'), 4)('2', true)).toBe('{"g":2,"r":4}')
  })
})
