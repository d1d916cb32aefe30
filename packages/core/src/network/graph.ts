/**
 * Sections 5.1–5.4: the computational graph on plain numbers. Each node remembers what
 * its backward needs, and backward multiplies the incoming derivative by the local one.
 */
import { UsageError } from '../engine/errors.js';

/** 5.4.1 — the multiply node: swaps its inputs on the way back. */
export class MulLayer {
  x = 0;
  y = 0;

  forward(x: number, y: number): number {
    this.x = x;
    this.y = y;
    return x * y;
  }

  backward(dout: number): [dx: number, dy: number] {
    const dx = dout * this.y; // ∂(xy)/∂x = y
    const dy = dout * this.x;
    return [dx, dy];
  }
}

/** 5.4.2 — the add node: passes the derivative through unchanged. */
export class AddLayer {
  forward(x: number, y: number): number {
    return x + y;
  }

  backward(dout: number): [dx: number, dy: number] {
    return [dout * 1, dout * 1];
  }
}

export interface AppleInputs {
  apple: number;
  appleNum: number;
  tax: number;
}

export interface AppleGraph extends AppleInputs {
  applePrice: number;
  price: number;
  dPrice: number;
  dApplePrice: number;
  dApple: number;
  dAppleNum: number;
  dTax: number;
}

/** 5.4.1 — two apples at 100 with 10% tax: price 220; dApple 2.2, dAppleNum 110, dTax 200. */
export function buyApple(inputs: Partial<AppleInputs> = {}): AppleGraph {
  const { apple, appleNum, tax } = withDefaults({ apple: 100, appleNum: 2, tax: 1.1 }, inputs);
  const mulAppleLayer = new MulLayer();
  const mulTaxLayer = new MulLayer();

  // forward
  const applePrice = mulAppleLayer.forward(apple, appleNum);
  const price = mulTaxLayer.forward(applePrice, tax);

  // backward
  const dPrice = 1;
  const [dApplePrice, dTax] = mulTaxLayer.backward(dPrice);
  const [dApple, dAppleNum] = mulAppleLayer.backward(dApplePrice);

  return { apple, appleNum, tax, applePrice, price, dPrice, dApplePrice, dApple, dAppleNum, dTax };
}

export interface AppleOrangeInputs extends AppleInputs {
  orange: number;
  orangeNum: number;
}

export interface AppleOrangeGraph extends AppleOrangeInputs {
  applePrice: number;
  orangePrice: number;
  allPrice: number;
  price: number;
  dPrice: number;
  dAllPrice: number;
  dApplePrice: number;
  dOrangePrice: number;
  dApple: number;
  dAppleNum: number;
  dOrange: number;
  dOrangeNum: number;
  dTax: number;
}

/**
 * 5.4.2 — two apples at 100 and three oranges at 150 with 10% tax: price 715;
 * dApple 2.2, dAppleNum 110, dOrange 3.3, dOrangeNum 165, dTax 650.
 */
export function buyAppleOrange(inputs: Partial<AppleOrangeInputs> = {}): AppleOrangeGraph {
  const { apple, appleNum, orange, orangeNum, tax } = withDefaults(
    { apple: 100, appleNum: 2, orange: 150, orangeNum: 3, tax: 1.1 },
    inputs,
  );
  const mulAppleLayer = new MulLayer();
  const mulOrangeLayer = new MulLayer();
  const addAppleOrangeLayer = new AddLayer();
  const mulTaxLayer = new MulLayer();

  // forward
  const applePrice = mulAppleLayer.forward(apple, appleNum);
  const orangePrice = mulOrangeLayer.forward(orange, orangeNum);
  const allPrice = addAppleOrangeLayer.forward(applePrice, orangePrice);
  const price = mulTaxLayer.forward(allPrice, tax);

  // backward
  const dPrice = 1;
  const [dAllPrice, dTax] = mulTaxLayer.backward(dPrice);
  const [dApplePrice, dOrangePrice] = addAppleOrangeLayer.backward(dAllPrice);
  const [dOrange, dOrangeNum] = mulOrangeLayer.backward(dOrangePrice);
  const [dApple, dAppleNum] = mulAppleLayer.backward(dApplePrice);

  return {
    apple,
    appleNum,
    orange,
    orangeNum,
    tax,
    applePrice,
    orangePrice,
    allPrice,
    price,
    dPrice,
    dAllPrice,
    dApplePrice,
    dOrangePrice,
    dApple,
    dAppleNum,
    dOrange,
    dOrangeNum,
    dTax,
  };
}

function withDefaults<T extends Record<string, number>>(defaults: T, given: Partial<T>): T {
  const merged: Record<string, number> = { ...defaults };
  for (const key of Object.keys(given)) {
    const value: unknown = given[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new UsageError(`${key} must be a finite number, got ${String(value)}`);
    }
    merged[key] = value;
  }
  return merged as T;
}
