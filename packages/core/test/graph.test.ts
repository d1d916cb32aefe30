import { describe, expect, it } from 'vitest';
import { AddLayer, buyApple, buyAppleOrange, MulLayer } from '../src/index.js';

// The book's Python prints these from the same IEEE-754 double operations in the same
// order, so the values must match to the last bit, not merely to a tolerance.
describe('5.4 the shopping graphs', () => {
  it('buys two apples with tax: 220; dApple 2.2, dAppleNum 110, dTax 200', () => {
    const g = buyApple();
    expect(g.price).toBe(100 * 2 * 1.1); // 220.00000000000003, printed by the book as int 220
    expect(Math.round(g.price)).toBe(220);
    expect(g.dApple).toBe(2.2);
    expect(g.dAppleNum).toBe(110.00000000000001);
    expect(g.dTax).toBe(200);
  });

  it('buys apples and oranges with tax: 715; 2.2, 110, 3.3, 165, 650', () => {
    const g = buyAppleOrange();
    expect(g.price).toBe(715.0000000000001);
    expect(g.dApple).toBe(2.2);
    expect(g.dAppleNum).toBe(110.00000000000001);
    expect(g.dOrange).toBe(3.3000000000000003);
    expect(g.dOrangeNum).toBe(165);
    expect(g.dTax).toBe(650);
    expect(g.allPrice).toBe(650);
    expect([g.dApplePrice, g.dOrangePrice]).toEqual([1.1, 1.1]);
  });

  it('recomputes everything from edited inputs', () => {
    const g = buyAppleOrange({ appleNum: 4 });
    expect(g.price).toBeCloseTo((400 + 450) * 1.1, 10);
    expect(g.dTax).toBe(850);
    expect(g.dAppleNum).toBeCloseTo(110, 10);
  });

  it('rejects a non-number input by name', () => {
    expect(() => buyApple({ tax: Number.NaN })).toThrow(/tax must be a finite number/);
  });

  it('MulLayer swaps its inputs, AddLayer passes dout through', () => {
    const mul = new MulLayer();
    expect(mul.forward(3, 5)).toBe(15);
    expect(mul.backward(2)).toEqual([10, 6]);
    const add = new AddLayer();
    expect(add.forward(3, 5)).toBe(8);
    expect(add.backward(2)).toEqual([2, 2]);
  });
});
